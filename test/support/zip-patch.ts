import { readFileSync, writeFileSync } from 'node:fs'

/**
 * Surgical edits of a ZIP's headers, for building damaged and hostile archives that no honest
 * writer produces (yazl refuses traversal names and always writes true sizes).
 */

const CENTRAL = 0x02014b50
const LOCAL = 0x04034b50

interface Located {
  bytes: Buffer
  central: number
  local: number
}

function locate(path: string, name: string): Located {
  const bytes = readFileSync(path)
  const wanted = Buffer.from(name)
  for (let at = bytes.length - 22; at >= 0; at--) {
    if (bytes.readUInt32LE(at) !== CENTRAL) continue
    const nameLength = bytes.readUInt16LE(at + 28)
    if (nameLength === wanted.length && bytes.subarray(at + 46, at + 46 + nameLength).equals(wanted)) {
      const local = bytes.readUInt32LE(at + 42)
      if (bytes.readUInt32LE(local) !== LOCAL) throw new Error(`no local header for ${name}`)
      return { bytes, central: at, local }
    }
  }
  throw new Error(`${name} not found in ${path}`)
}

/** Rewrites an entry's name (same length) in both its local and central headers. */
export function patchEntryName(path: string, from: string, to: string): void {
  if (Buffer.byteLength(from) !== Buffer.byteLength(to)) throw new Error('names must have the same length')
  const { bytes, central, local } = locate(path, from)
  Buffer.from(to).copy(bytes, central + 46)
  Buffer.from(to).copy(bytes, local + 30)
  writeFileSync(path, bytes)
}

/** Makes an entry lie about its uncompressed size (central directory and local header). */
export function patchEntrySizes(path: string, name: string, sizes: { uncompressedSize: number }): void {
  const { bytes, central, local } = locate(path, name)
  bytes.writeUInt32LE(sizes.uncompressedSize, central + 24)
  bytes.writeUInt32LE(sizes.uncompressedSize, local + 22)
  writeFileSync(path, bytes)
}

/** Points an entry's central-directory record at another local header offset. */
export function patchLocalHeaderOffset(path: string, name: string, offset: number): void {
  const { bytes, central } = locate(path, name)
  bytes.writeUInt32LE(offset, central + 42)
  writeFileSync(path, bytes)
}
