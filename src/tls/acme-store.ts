import { X509Certificate, createHash, createPrivateKey } from 'node:crypto'
import { chmod, mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from './atomic-file.ts'
import type { SharedHttpChallenges } from './acme-challenges.ts'
import type { CertificatePair } from './swappable-tls.ts'

/**
 * Where automatic HTTPS keeps its account and certificate: the data directory here (one instance),
 * the shared database when instances share PostgreSQL (src/store/tls-records.ts).
 */
export interface AcmeStore {
  /** Where the state is kept, for messages. */
  location: string
  readAccount(): Promise<{ keyPem: string; url: string | null } | null>
  writeAccountKey(keyPem: string): Promise<void>
  writeAccountUrl(url: string): Promise<void>
  /** The stored certificate and key, or null when missing, unreadable or not a matching pair. */
  readCertificate(domain: string): Promise<StoredCertificate | null>
  writeCertificate(domain: string, pair: CertificatePair): Promise<void>
}

/**
 * What instances sharing one database share for automatic HTTPS: the store, the HTTP-01 answers
 * of an open order, and a cluster-wide lock so only one instance orders at a time.
 */
export interface SharedAcmeState {
  store: AcmeStore
  httpChallenges: SharedHttpChallenges
  /**
   * Runs `work` while holding the lock for ordering certificates. With `wait` false, returns null
   * at once (without running `work`) when another instance holds it.
   */
  exclusive<T>(wait: boolean, work: () => Promise<T>): Promise<{ value: T } | null>
}

export interface StoredCertificate extends CertificatePair {
  leaf: X509Certificate
}

const PRIVATE = 0o600

/**
 * What automatic HTTPS keeps in the data directory, every file mode 0600 and written atomically:
 *
 *   certs/acme/<CA host>-<hash of the directory URL>/account.key    the ACME account's private key
 *   certs/acme/<…>/account.json                                      its URL at the CA
 *   certs/acme/<…>/<domain>/key.pem, cert.pem                        the certificate (full chain) and key
 *
 * One folder per directory URL, so switching from staging to production never mixes accounts or
 * serves a staging certificate.
 */
export function createAcmeStore(certsDir: string, directoryUrl: string): AcmeStore {
  const url = new URL(directoryUrl)
  const folder = join(certsDir, 'acme', `${url.host.replace(/[^A-Za-z0-9.-]/g, '_')}-${createHash('sha256').update(directoryUrl).digest('hex').slice(0, 12)}`)
  const ensureFolder = async (path: string): Promise<void> => void (await mkdir(path, { recursive: true, mode: 0o700 }))
  const domainFolder = (domain: string): string => {
    // The domain was validated by the config; refuse anything that could leave the folder anyway.
    if (!/^[a-z0-9.-]+$/.test(domain) || domain.includes('..')) throw new Error(`not a domain name: ${domain}`)
    return join(folder, domain)
  }

  return {
    location: folder,
    async readAccount() {
      const keyPem = await readOrNull(join(folder, 'account.key'))
      if (keyPem === null) return null
      await chmod(join(folder, 'account.key'), PRIVATE)
      const meta = await readOrNull(join(folder, 'account.json'))
      let accountUrl: string | null = null
      try {
        const parsed = meta === null ? null : (JSON.parse(meta) as { url?: unknown })
        if (typeof parsed?.url === 'string') accountUrl = parsed.url
      } catch {
        // A damaged account.json only costs a lookup: the CA finds the account by its key.
      }
      return { keyPem, url: accountUrl }
    },
    async writeAccountKey(keyPem) {
      await ensureFolder(folder)
      await writeFileAtomic(join(folder, 'account.key'), keyPem, PRIVATE)
    },
    async writeAccountUrl(accountUrl) {
      await ensureFolder(folder)
      await writeFileAtomic(join(folder, 'account.json'), `${JSON.stringify({ url: accountUrl, directoryUrl }, null, 2)}\n`, PRIVATE)
    },
    async readCertificate(domain) {
      const dir = domainFolder(domain)
      const [certPem, keyPem] = await Promise.all([readOrNull(join(dir, 'cert.pem')), readOrNull(join(dir, 'key.pem'))])
      if (certPem === null || keyPem === null) return null
      // A crash between the two writes of a renewal leaves a new key beside the old chain: start over.
      return matchingPair(certPem, keyPem)
    },
    async writeCertificate(domain, pair) {
      const dir = domainFolder(domain)
      await ensureFolder(dir)
      await writeFileAtomic(join(dir, 'key.pem'), pair.keyPem, PRIVATE)
      await writeFileAtomic(join(dir, 'cert.pem'), pair.certPem, PRIVATE)
    },
  }
}

/** The chain and key as a StoredCertificate when they parse and belong together, else null. */
export function matchingPair(certPem: string, keyPem: string): StoredCertificate | null {
  try {
    const leaf = new X509Certificate(certPem)
    if (!leaf.checkPrivateKey(createPrivateKey(keyPem))) return null
    return { certPem, keyPem, leaf }
  } catch {
    return null
  }
}

/** A text file's content, or null when it does not exist (other errors are thrown). */
export async function readOrNull(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw error
  }
}
