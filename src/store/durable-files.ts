import { mkdir, open, rename, rm, stat } from 'node:fs/promises'
import { dirname } from 'node:path'

/** Flushes a file's data to the disk, so a rename that follows cannot expose a half-written file after a crash. */
export async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/**
 * Flushes a directory, which makes the entries created or renamed in it durable. Windows cannot
 * open a directory for this and does not need it (NTFS journals metadata).
 */
export async function fsyncDirectory(path: string): Promise<void> {
  if (process.platform === 'win32') return
  const handle = await open(path, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/**
 * Moves a complete, already fsynced file to `target` unless an identical one is there: a file
 * of the same size under a content-hash name is the same content, so the new copy is deleted
 * (dedup). A different size means the existing file is damaged; the new copy replaces it. Two
 * concurrent installs of the same content both end well, as `rename` replaces atomically.
 * Directories created on the way and the target's directory are fsynced, so the name survives
 * a power loss.
 */
export async function installFile(source: string, target: string, size: number): Promise<void> {
  const existing = await stat(target).catch((error: unknown) => {
    if (isErrno(error, 'ENOENT')) return null
    throw error
  })
  if (existing?.isFile() && existing.size === size) {
    await rm(source, { force: true })
    return
  }
  const directory = dirname(target)
  const firstCreated = await mkdir(directory, { recursive: true })
  await rename(source, target)
  await fsyncDirectory(directory)
  if (firstCreated !== undefined) {
    // Each new directory's own entry lives in its parent: flush from the target's up to the first existing one.
    for (let current = dirname(directory); ; current = dirname(current)) {
      await fsyncDirectory(current)
      if (current === dirname(firstCreated) || current === dirname(current)) break
    }
  }
}

/** True when `error` is a Node system error with this `code` (ENOENT, EEXIST, …). */
export function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code
}
