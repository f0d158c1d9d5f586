/**
 * Who may install: per app and per channel, `public` (anyone with the link), `password` (the page
 * asks once) or `invite` (personal links, one per tester). A channel may `inherit` the app's mode.
 * Pure decisions over plain facts; the store and the server supply the facts.
 */

export const ACCESS_MODES = ['public', 'password', 'invite'] as const
export type AccessMode = (typeof ACCESS_MODES)[number]

export const CHANNEL_ACCESS = ['inherit', ...ACCESS_MODES] as const
export type ChannelAccess = (typeof CHANNEL_ACCESS)[number]

export const GRANT_KINDS = ['invite', 'password'] as const
export type GrantKind = (typeof GRANT_KINDS)[number]

/** What a setting or a grant applies to: the whole app (`channel` null) or one channel. */
export interface AccessScope {
  bundleId: string
  channel: string | null
}

/** The mode that applies to a channel, and the scope that defines it (the channel's own, or the app's). */
export interface EffectivePolicy {
  mode: AccessMode
  source: AccessScope
}

/** A grant as the checks see it: minted links carry its id, and every request looks it up. */
export interface GrantFacts {
  id: string
  kind: GrantKind
  bundleId: string
  channel: string | null
  testerId: string | null
  expiresAt: string | null
  revokedAt: string | null
}

/** Why a grant does not open a build: `revoked` (410: it existed and was withdrawn or expired) or `denied` (403). */
export type GrantDecision = { ok: true } | { ok: false; outcome: 'revoked' | 'denied'; reason: string }

export function isAccessMode(value: unknown): value is AccessMode {
  return (ACCESS_MODES as readonly unknown[]).includes(value)
}

export function isChannelAccess(value: unknown): value is ChannelAccess {
  return (CHANNEL_ACCESS as readonly unknown[]).includes(value)
}

/** The channel's own mode, or the app's when it inherits (an app never configured is public). */
export function effectivePolicy(bundleId: string, appMode: AccessMode, channel: { name: string; access: ChannelAccess }): EffectivePolicy {
  if (channel.access === 'inherit') return { mode: appMode, source: { bundleId, channel: null } }
  return { mode: channel.access, source: { bundleId, channel: channel.name } }
}

/**
 * Whether links minted under `grant` may still fetch a build of `target` whose access is `policy`.
 * Checked on every request for a page, a manifest, an .ipa or an icon, so revoking a grant, deleting
 * its tester, changing the password or the mode stops links already handed out at once.
 *
 * A public build opens to any live grant of its app; a password grant opens only the scope whose
 * password it was (a new password makes a new grant); an invite opens its app or channel while the
 * build's mode is `invite`.
 */
export function judgeGrant(grant: GrantFacts | null, policy: EffectivePolicy, target: { bundleId: string; channel: string }, now: Date): GrantDecision {
  if (!grant) return { ok: false, outcome: 'revoked', reason: 'this link has been revoked' }
  if (grant.revokedAt !== null) return { ok: false, outcome: 'revoked', reason: 'this link has been revoked' }
  if (grant.expiresAt !== null && Date.parse(grant.expiresAt) <= now.getTime()) return { ok: false, outcome: 'revoked', reason: 'this link has expired' }
  if (grant.bundleId !== target.bundleId || (grant.channel !== null && grant.channel !== target.channel)) {
    return { ok: false, outcome: 'denied', reason: 'this link does not open this build' }
  }
  if (policy.mode === 'public') return { ok: true }
  if (grant.kind !== policy.mode) return { ok: false, outcome: 'denied', reason: 'access to this build has changed; ask for a new link' }
  if (grant.kind === 'password' && grant.channel !== policy.source.channel) {
    return { ok: false, outcome: 'denied', reason: 'this password does not open this build' }
  }
  return { ok: true }
}
