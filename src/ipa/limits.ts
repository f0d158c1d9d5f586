/**
 * Caps on everything read out of an archive, decided in one place. Hitting one is an
 * `AirstripError` with a code (usually `entry-too-large`), never a crash or an unbounded allocation:
 * this is where zip bombs and billion-laughs plists stop.
 */
export const LIMITS = {
  /** Info.plist, embedded.mobileprovision and other property lists (declared and actual size). */
  plistBytes: 16 * 1024 * 1024,
  /** A single icon PNG, compressed. */
  iconBytes: 32 * 1024 * 1024,
  /** Assets.car, read only when the app has no loose icon PNG. */
  assetsCarBytes: 48 * 1024 * 1024,
  /** Decoded icon size in pixels (width * height): 4096 x 4096, far above any real app icon. */
  iconPixels: 4096 * 4096,
  /** The CMS blob inside a Mach-O code signature. */
  codeSignatureBytes: 4 * 1024 * 1024,
  /** Mach-O header + load commands of one slice. */
  machoLoadCommandBytes: 4 * 1024 * 1024,
  /** Entries in one archive (a real app has tens of thousands at most). */
  archiveEntries: 1_000_000,
  /** Objects in one binary plist, and nesting depth of any plist. */
  plistObjects: 1_000_000,
  plistDepth: 512,
  /** App extensions and watch apps read per build. */
  nestedBundles: 256,
} as const
