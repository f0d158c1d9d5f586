import { readdir } from 'node:fs/promises'
import { basename, join } from 'node:path'
import type { Kysely } from 'kysely'
import { ACME_DIRECTORIES } from '../config.ts'
import { AirstripError } from '../errors.ts'
import { createAcmeStore, matchingPair, readOrNull } from '../tls/acme-store.ts'
import { DEV_CERT_FILES } from '../tls/dev-certificates.ts'
import type { CertificatePair } from '../tls/swappable-tls.ts'
import type { Database } from './database.ts'
import { openSharedAcmeState, openSharedDevCertificates } from './tls-records.ts'

/**
 * The TLS state of a single-instance data dir (`<data dir>/certs/`), read for `migrate-store`:
 * the development CA and server certificate (dev-certificates.ts: the CA is the one testers'
 * devices already trust, so it must survive the move) and, per ACME CA, the account and the
 * certificates (acme-store.ts layout). Only pairs whose certificate and key belong together.
 */
export interface DataDirTlsState {
  dev: Partial<Record<'ca' | 'server', CertificatePair>>
  acme: AcmeDirectoryState[]
  /** What is in certs/ but cannot be carried, and why (the server would not use it either). */
  skipped: string[]
}

export interface AcmeDirectoryState {
  directoryUrl: string
  account: { keyPem: string; url: string | null } | null
  certificates: Array<{ domain: string; pair: CertificatePair }>
}

/** What was carried into the database, each item read back and compared. */
export interface TlsMigrationReport {
  devCertificates: Array<'ca' | 'server'>
  acme: Array<{ directoryUrl: string; account: boolean; certificates: string[] }>
  skipped: string[]
}

/** Reads `<dataDir>/certs/` without changing it. Nothing there (plain HTTP, --tls-cert) is an empty state. */
export async function readDataDirTlsState(dataDir: string): Promise<DataDirTlsState> {
  const certsDir = join(dataDir, 'certs')
  const state: DataDirTlsState = { dev: {}, acme: [], skipped: [] }
  const devFiles = { ca: [DEV_CERT_FILES.caCert, DEV_CERT_FILES.caKey], server: [DEV_CERT_FILES.cert, DEV_CERT_FILES.key] } as const
  for (const name of ['ca', 'server'] as const) {
    const [certFile, keyFile] = devFiles[name]
    const [certPem, keyPem] = await Promise.all([readOrNull(join(certsDir, certFile)), readOrNull(join(certsDir, keyFile))])
    if (certPem === null && keyPem === null) continue
    const pair = certPem !== null && keyPem !== null ? matchingPair(certPem, keyPem) : null
    if (pair) state.dev[name] = { certPem: pair.certPem, keyPem: pair.keyPem }
    else state.skipped.push(`certs/${certFile} and ${keyFile}: not a certificate and its key (the server would make new ones)`)
  }
  if (state.dev.server && !state.dev.ca) {
    // A server certificate without its CA is useless on a device; the database's CA issues a new one.
    delete state.dev.server
    state.skipped.push(`certs/${DEV_CERT_FILES.cert}: its CA is not there`)
  }

  for (const folder of await subfolders(join(certsDir, 'acme'))) {
    const directoryUrl = await acmeDirectoryOf(certsDir, folder)
    if (directoryUrl === null) {
      state.skipped.push(`certs/acme/${folder}: no account.json names its ACME directory (a new account is made on first start)`)
      continue
    }
    const store = createAcmeStore(certsDir, directoryUrl)
    const certificates: AcmeDirectoryState['certificates'] = []
    for (const domain of await subfolders(join(certsDir, 'acme', folder))) {
      const stored = /^[a-z0-9.-]+$/.test(domain) && !domain.includes('..') ? await store.readCertificate(domain) : null
      if (stored) certificates.push({ domain, pair: { certPem: stored.certPem, keyPem: stored.keyPem } })
      else state.skipped.push(`certs/acme/${folder}/${domain}: no certificate with its key (a new one is ordered on first start)`)
    }
    const keyPem = await readOrNull(join(store.location, 'account.key'))
    const account = keyPem === null ? null : { keyPem, url: accountUrlOf(await readOrNull(join(store.location, 'account.json'))) }
    if (account || certificates.length > 0) state.acme.push({ directoryUrl, account, certificates })
  }
  return state
}

/**
 * Writes `state` into the database's TLS tables (tls-records.ts; keys sealed there) and reads every
 * item back through the same stores the server uses, comparing it with what the data dir held:
 * any difference throws, so a caller in a transaction keeps nothing. The dev CA is inserted only
 * when the database has none: a different one already there is an error, never silently replaced.
 */
export async function writeTlsStateToDatabase(db: Kysely<Database>, state: DataDirTlsState): Promise<TlsMigrationReport> {
  const report: TlsMigrationReport = { devCertificates: [], acme: [], skipped: state.skipped }
  const devNames = (['ca', 'server'] as const).filter((name) => state.dev[name] !== undefined)
  if (devNames.length > 0) {
    const records = await openSharedDevCertificates(db)
    for (const name of devNames) {
      const pair = state.dev[name]!
      if (!(await records.insertIfAbsent(name, pair))) {
        throw new AirstripError('bad-request', `the target database already holds a development ${name === 'ca' ? 'CA' : 'server certificate'}: migrate into a new, empty database`)
      }
      const back = await records.read(name)
      if (back?.certPem !== pair.certPem || back.keyPem !== pair.keyPem) throw new Error(`the development ${name} certificate read back from the database differs from the data dir's`)
      report.devCertificates.push(name)
    }
  }
  for (const directory of state.acme) {
    const { store } = await openSharedAcmeState(db, directory.directoryUrl)
    if (directory.account) {
      await store.writeAccountKey(directory.account.keyPem)
      if (directory.account.url !== null) await store.writeAccountUrl(directory.account.url)
      const back = await store.readAccount()
      if (back?.keyPem !== directory.account.keyPem || back.url !== directory.account.url) throw new Error(`the ACME account for ${directory.directoryUrl} read back from the database differs from the data dir's`)
    }
    for (const { domain, pair } of directory.certificates) {
      await store.writeCertificate(domain, pair)
      const back = await store.readCertificate(domain)
      if (back?.certPem !== pair.certPem || back.keyPem !== pair.keyPem) throw new Error(`the certificate for ${domain} read back from the database differs from the data dir's`)
    }
    report.acme.push({ directoryUrl: directory.directoryUrl, account: directory.account !== null, certificates: directory.certificates.map((c) => c.domain) })
  }
  return report
}

/**
 * The directory URL a certs/acme/ folder belongs to: the one its account.json names, or a
 * well-known one, accepted only when the file store would use exactly this folder for it.
 */
async function acmeDirectoryOf(certsDir: string, folder: string): Promise<string | null> {
  const named = directoryUrlOf(await readOrNull(join(certsDir, 'acme', folder, 'account.json')))
  const candidates = [...(named === null ? [] : [named]), ...Object.values(ACME_DIRECTORIES)]
  return candidates.find((url) => URL.canParse(url) && basename(createAcmeStore(certsDir, url).location) === folder) ?? null
}

function accountUrlOf(json: string | null): string | null {
  const value = parseJson(json)?.['url']
  return typeof value === 'string' ? value : null
}

function directoryUrlOf(json: string | null): string | null {
  const value = parseJson(json)?.['directoryUrl']
  return typeof value === 'string' ? value : null
}

function parseJson(json: string | null): Record<string, unknown> | null {
  if (json === null) return null
  try {
    const parsed: unknown = JSON.parse(json)
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : null
  } catch {
    return null
  }
}

async function subfolders(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
}
