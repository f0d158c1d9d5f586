import { X509Certificate, createPrivateKey } from 'node:crypto'
import { chmod, mkdir, readFile, stat } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join, resolve } from 'node:path'
import { writeFileAtomic } from './atomic-file.ts'
import { hostKey, normalizeHost, normalizeHosts } from './hosts.ts'
import type { TlsHost } from './hosts.ts'

/** File names inside the certificate folder (e.g. `<dataDir>/certs/`). */
export const DEV_CERT_FILES = {
  caCert: 'dev-ca.crt',
  caKey: 'dev-ca.key',
  cert: 'server.crt',
  key: 'server.key',
} as const

/** Certificates are replaced when they expire within this window, so a restart never serves a dead one. */
export const RENEW_WITHIN_DAYS = 30

/** What `ensureDevCertificates` hands to the HTTPS server and to the CA-profile page. */
export interface DevCertificates {
  caCertPem: string
  caCertDer: Buffer
  /** Server certificate (leaf only: the root is on the devices, intermediates do not exist). */
  certPem: string
  keyPem: string
  /** True when any file was (re)written by this call. */
  created: boolean
  /** True when the CA itself is new: devices must download and trust the CA profile again. */
  caCreated: boolean
}

const DAY_MS = 24 * 60 * 60 * 1000
/** Apple's limit for TLS server certificates; a stored certificate exceeding it is reissued. */
const MAX_SERVER_VALIDITY_MS = 398 * DAY_MS

interface KeyPair {
  certPem: string
  keyPem: string
  cert: X509Certificate
}

/**
 * For `--dev-tls`: makes sure `dir` holds a local development CA and a server certificate for
 * `hosts` signed by it, and returns them. Existing files are reused; the server certificate alone
 * is reissued (keeping the CA, so devices stay trusted) when the host list changed, it expires
 * within 30 days, or it no longer matches the CA; everything is regenerated when the CA files are
 * missing, unreadable, corrupt or near expiry. Files are written atomically, keys with mode 0600.
 * Nothing here logs, and errors never carry key material.
 */
export async function ensureDevCertificates(dir: string, hosts: string[], now = new Date()): Promise<DevCertificates> {
  const wanted = normalizeHosts(hosts)
  // Serialize calls per folder: two interleaved generations could leave one CA's key beside another's cert.
  const key = resolve(dir)
  const run = (inFlight.get(key) ?? Promise.resolve()).catch(() => undefined).then(() => ensure(dir, wanted, now))
  inFlight.set(key, run)
  void run.finally(() => inFlight.get(key) === run && inFlight.delete(key)).catch(() => undefined)
  return run
}

const inFlight = new Map<string, Promise<DevCertificates>>()

async function ensure(dir: string, wanted: TlsHost[], now: Date): Promise<DevCertificates> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const paths = {
    caCert: join(dir, DEV_CERT_FILES.caCert),
    caKey: join(dir, DEV_CERT_FILES.caKey),
    cert: join(dir, DEV_CERT_FILES.cert),
    key: join(dir, DEV_CERT_FILES.key),
  }

  let ca = await loadCa(paths.caCert, paths.caKey, now)
  const caCreated = ca === null
  if (ca === null) {
    // CN is limited to 64 characters; the machine name only tells devices' owners which CA this is.
    const { generateCa } = await loadCertificateFactory()
    const generated = await generateCa(`Airstrip Development CA (${hostname().slice(0, 38)})`, now)
    // Key first: a crash between the two writes leaves a key/cert mismatch, which is detected.
    await writeFileAtomic(paths.caKey, generated.keyPem, 0o600)
    await writeFileAtomic(paths.caCert, generated.certPem, 0o644)
    ca = { certPem: generated.certPem, keyPem: generated.keyPem, cert: new X509Certificate(generated.certDer) }
  }

  let server = caCreated ? null : await loadServer(paths.cert, paths.key, ca, wanted, now)
  const serverCreated = server === null
  if (server === null) {
    const { issueServerCertificate } = await loadCertificateFactory()
    const issued = await issueServerCertificate(ca, wanted, now)
    await writeFileAtomic(paths.key, issued.keyPem, 0o600)
    await writeFileAtomic(paths.cert, issued.certPem, 0o644)
    server = { certPem: issued.certPem, keyPem: issued.keyPem, cert: new X509Certificate(issued.certDer) }
  }

  return {
    caCertPem: ca.certPem,
    caCertDer: Buffer.from(ca.cert.raw),
    certPem: server.certPem,
    keyPem: server.keyPem,
    created: caCreated || serverCreated,
    caCreated,
  }
}

/** The stored CA, or null when it must be regenerated (missing, corrupt, mismatched, expiring). */
async function loadCa(certPath: string, keyPath: string, now: Date): Promise<KeyPair | null> {
  const pair = await readPair(certPath, keyPath)
  if (!pair) return null
  return isUsableCa(pair.cert, now) ? pair : null
}

/** A self-signed CA, current and not expiring within the renewal window. Shared with the database-kept CA. */
export function isUsableCa(cert: X509Certificate, now: Date): boolean {
  return cert.ca && cert.checkIssued(cert) && cert.verify(cert.publicKey) && isCurrent(cert, now)
}

/** The stored server certificate, or null when it must be reissued. */
async function loadServer(
  certPath: string,
  keyPath: string,
  ca: KeyPair,
  wanted: readonly TlsHost[],
  now: Date,
): Promise<KeyPair | null> {
  const pair = await readPair(certPath, keyPath)
  if (!pair) return null
  return isUsableServer(pair.cert, ca.cert, wanted, now) ? pair : null
}

/**
 * A leaf issued by `caCert` for exactly `wanted`, current, within Apple's validity limit. Shared
 * with the database-kept certificates (shared-dev-certificates.ts).
 */
export function isUsableServer(cert: X509Certificate, caCert: X509Certificate, wanted: readonly TlsHost[], now: Date): boolean {
  if (cert.ca || !cert.checkIssued(caCert) || !cert.verify(caCert.publicKey)) return false
  if (!isCurrent(cert, now)) return false
  if (cert.validToDate.getTime() - cert.validFromDate.getTime() > MAX_SERVER_VALIDITY_MS) return false
  return sameHosts(cert, wanted)
}

/** Reads and parses a certificate and its private key; null for anything unreadable or mismatched. */
async function readPair(certPath: string, keyPath: string): Promise<KeyPair | null> {
  try {
    const [certPem, keyPem] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')])
    const cert = new X509Certificate(certPem)
    const key = createPrivateKey(keyPem)
    if (key.asymmetricKeyType !== 'rsa' || !cert.checkPrivateKey(key)) return null
    await tightenMode(keyPath)
    return { certPem, keyPem, cert }
  } catch {
    return null
  }
}

/** Valid at `now` and not expiring within the renewal window. */
function isCurrent(cert: X509Certificate, now: Date): boolean {
  const t = now.getTime()
  return cert.validFromDate.getTime() <= t && cert.validToDate.getTime() - t > RENEW_WITHIN_DAYS * DAY_MS
}

function sameHosts(cert: X509Certificate, wanted: readonly TlsHost[]): boolean {
  try {
    const have = new Set(subjectAltNames(cert).map((value) => hostKey(normalizeHost(value))))
    return have.size === wanted.length && wanted.every((host) => have.has(hostKey(host)))
  } catch {
    return false
  }
}

/**
 * The DNS and IP entries of a certificate's SAN, from Node's own rendering ("DNS:a, IP Address:b").
 * An entry Node has to quote (a comma or quote inside) is never one of ours: it simply makes the
 * lists differ and the certificate is reissued.
 */
function subjectAltNames(cert: X509Certificate): string[] {
  const san = cert.subjectAltName
  if (!san) return []
  return san.split(', ').flatMap((entry) =>
    entry.startsWith('DNS:') ? [entry.slice(4)] : entry.startsWith('IP Address:') ? [entry.slice(11)] : [],
  )
}

/**
 * @peculiar/x509 (~8 MiB of heap, ~200 modules) is only needed to issue certificates, which a
 * server with current certificates never does: load it on first use, not at every start.
 */
function loadCertificateFactory(): Promise<typeof import('./certificate-factory.ts')> {
  return import('./certificate-factory.ts')
}

/** A key copied around by hand may have lost its 0600; put it back rather than serve it as is. */
async function tightenMode(keyPath: string): Promise<void> {
  const { mode } = await stat(keyPath)
  if ((mode & 0o077) !== 0) await chmod(keyPath, 0o600)
}
