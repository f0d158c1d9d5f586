import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { link, readFile, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * Encrypts webhook secrets at rest. A webhook secret cannot be stored as a hash like API tokens:
 * Airstrip must compute HMAC-SHA256 with it for every delivery. So it is sealed with AES-256-GCM
 * under a key kept in the data dir (`notify-secrets.key`, 0600), never in the database: a leaked
 * database or backup of `airstrip.db` alone reveals no secret. The webhook id is bound in as
 * associated data, so a sealed secret copied onto another row does not open.
 */
export interface SecretBox {
  seal(plaintext: string, context: string): string
  /** Throws when the sealed text was altered, belongs to another context, or another key. */
  open(sealed: string, context: string): string
}

const VERSION = 'v1'
export const SECRET_KEY_FILE = 'notify-secrets.key'

export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new Error('a secret box key is 32 bytes')
  return {
    seal(plaintext, context) {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', key, iv)
      cipher.setAAD(Buffer.from(context, 'utf8'))
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
      return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.')
    },
    open(sealed, context) {
      const [version, iv, tag, ciphertext] = sealed.split('.')
      if (version !== VERSION || !iv || !tag || ciphertext === undefined) throw new Error('not a sealed secret')
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'))
      decipher.setAAD(Buffer.from(context, 'utf8'))
      decipher.setAuthTag(Buffer.from(tag, 'base64url'))
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8')
    },
  }
}

/** The data dir's secret box, creating its key (atomically, 0600) on first use. */
export async function loadSecretBox(dataDir: string): Promise<SecretBox> {
  const path = join(dataDir, SECRET_KEY_FILE)
  try {
    const existing = Buffer.from((await readFile(path, 'utf8')).trim(), 'base64url')
    if (existing.length === 32) return createSecretBox(existing)
    throw new Error(`${path} does not hold a 32-byte key; restore it from a backup (webhook secrets cannot be read without it)`)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  const key = randomBytes(32)
  const temp = `${path}.${process.pid}.tmp`
  await writeFile(temp, `${key.toString('base64url')}\n`, { mode: 0o600, flush: true })
  // link() never replaces: when the server and a CLI start together, the first key wins and both read it.
  try {
    await link(temp, path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  } finally {
    await unlink(temp)
  }
  return createSecretBox(Buffer.from((await readFile(path, 'utf8')).trim(), 'base64url'))
}
