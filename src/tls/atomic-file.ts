import { open, rename, rm } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { basename, dirname, join } from 'node:path'

/**
 * Writes `data` to `path` so a reader (or a crash) never sees a half-written file: write a temp
 * file in the same folder, fsync it, rename it over the target, then fsync the folder so the rename
 * itself survives a power cut. `mode` is applied with chmod, so it does not depend on the umask —
 * private keys must end up 0600 whatever the operator's shell says.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  let renamed = false
  try {
    const handle = await open(temp, 'wx', mode)
    try {
      await handle.chmod(mode)
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temp, path)
    renamed = true
    await syncDirectory(dirname(path))
  } finally {
    if (!renamed) await rm(temp, { force: true })
  }
}

/** fsync on a directory; some platforms (Windows) cannot open one, which is not worth failing for. */
async function syncDirectory(dir: string): Promise<void> {
  let handle
  try {
    handle = await open(dir, 'r')
    await handle.sync()
  } catch {
    // best effort
  } finally {
    await handle?.close()
  }
}
