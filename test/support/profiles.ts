/**
 * Builders for provisioning-profile tests: throw-away signing identities made with the real
 * `openssl` CLI, profile plists shaped the way Apple writes each kind, and CMS envelopes
 * (DER, or BER with indefinite lengths like Apple's profile signer writes).
 */
import { execFileSync } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { build } from 'plist'
import type { PlistDict, ProfileKind } from '../../src/ipa/types.ts'

export interface SigningIdentity {
  certPem: string
  keyPem: string
  certPath: string
  keyPath: string
  /** The certificate, DER-encoded (what DeveloperCertificates holds). */
  der: Buffer
}

export interface IdentityOptions {
  /** Subject CN, e.g. "Apple Development: Jane Doe (ABCDE12345)". */
  commonName: string
  /** Goes into the subject OU, where Apple puts the team id. */
  teamId?: string
  /** Validity from now when `notAfter` is not given; default 365. */
  days?: number
  /** Exact expiry (may be in the past, for expired-certificate tests). */
  notAfter?: Date
  /** Default: one day ago (or one day before `notAfter` when that is in the past). */
  notBefore?: Date
}

const DAY_MS = 24 * 60 * 60 * 1000

// `openssl ca` rather than `req -x509`: OpenSSL 3.0's req cannot set exact (or past) dates.
const CA_CONFIG = `[ca]
default_ca = throwaway
[throwaway]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = anything
unique_subject = no
email_in_dn = no
x509_extensions = leaf
[anything]
commonName = supplied
organizationalUnitName = optional
organizationName = optional
countryName = optional
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
`

/**
 * Creates a self-signed RSA certificate and key under `dir` with the real openssl CLI, subject
 * `/CN=<commonName>/OU=<teamId>/O=Test/C=US`, so tests exercise real X.509 and CMS bytes.
 */
export function createSigningIdentity(dir: string, options: IdentityOptions): SigningIdentity {
  const work = mkdtempSync(join(dir, 'identity-'))
  const notAfter = options.notAfter ?? new Date(Date.now() + (options.days ?? 365) * DAY_MS)
  const notBefore = options.notBefore ?? new Date(Math.min(Date.now(), notAfter.getTime()) - DAY_MS)
  const escape = (value: string): string => value.replace(/[\\/+]/g, (c) => `\\${c}`)
  const subject = `/CN=${escape(options.commonName)}${options.teamId ? `/OU=${escape(options.teamId)}` : ''}/O=Test/C=US`
  const run = (args: string[]): void => void execFileSync('openssl', args, { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] })

  writeFileSync(join(work, 'ca.cnf'), CA_CONFIG)
  writeFileSync(join(work, 'index.txt'), '')
  writeFileSync(join(work, 'serial'), `${randomBytes(8).toString('hex').replace(/^./, '1')}\n`)
  run(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'key.pem'])
  run(['req', '-new', '-utf8', '-key', 'key.pem', '-subj', subject, '-out', 'csr.pem'])
  run([
    'ca', '-batch', '-config', 'ca.cnf', '-selfsign', '-keyfile', 'key.pem', '-in', 'csr.pem', '-preserveDN', '-notext', '-utf8',
    '-startdate', opensslDate(notBefore), '-enddate', opensslDate(notAfter), '-out', 'cert.pem',
  ])
  const certPath = join(work, 'cert.pem')
  const keyPath = join(work, 'key.pem')
  const der = execFileSync('openssl', ['x509', '-in', certPath, '-outform', 'DER'])
  return { certPem: readFileSync(certPath, 'utf8'), keyPem: readFileSync(keyPath, 'utf8'), certPath, keyPath, der }
}

function opensslDate(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`
}

export interface ProfileOptions {
  kind: ProfileKind
  name?: string
  uuid?: string
  teamId?: string
  teamName?: string
  /** Bundle id or wildcard ("com.example.app", "com.example.*", "*"), without the team prefix. */
  appId?: string
  /** Development and ad-hoc only; a sample UDID when not given. */
  devices?: string[]
  createdAt?: Date
  expiresAt?: Date
  /** Default ["iOS"]. */
  platforms?: string[]
  /** Added to (and overriding) the entitlements Apple sets for the kind. */
  entitlements?: PlistDict
  /** DER certificates for DeveloperCertificates. */
  developerCertificates?: Uint8Array[]
  /** Added to (and overriding) the top-level keys, for deliberately odd profiles. */
  extraKeys?: PlistDict
}

/** A sample of each UDID format: 40 hex (before iPhone XS) and the newer 25-character form. */
export const SAMPLE_UDIDS = ['0123456789abcdef0123456789abcdef01234567', '00008030-001A2B3C4D5E6F70'] as const

/**
 * Builds a provisioning-profile plist (XML) with the keys Apple sets for the given kind:
 * development has get-task-allow true and ProvisionedDevices; ad-hoc has devices and
 * get-task-allow false; enterprise has ProvisionsAllDevices; app-store has neither, plus
 * beta-reports-active.
 */
export function buildProfilePlist(options: ProfileOptions): string {
  const teamId = options.teamId ?? 'ABCDE12345'
  const appId = options.appId ?? 'com.example.app'
  const createdAt = options.createdAt ?? new Date(Math.floor(Date.now() / 1000) * 1000)
  const expiresAt = options.expiresAt ?? new Date(createdAt.getTime() + 365 * DAY_MS)
  const withDevices = options.kind === 'development' || options.kind === 'ad-hoc'
  const entitlements: PlistDict = {
    'application-identifier': `${teamId}.${appId}`,
    'keychain-access-groups': [`${teamId}.*`],
    'get-task-allow': options.kind === 'development',
    'com.apple.developer.team-identifier': teamId,
    ...(options.kind === 'app-store' ? { 'beta-reports-active': true } : {}),
    ...options.entitlements,
  }
  const profile: PlistDict = {
    AppIDName: `${appId} app id`,
    ApplicationIdentifierPrefix: [teamId],
    CreationDate: createdAt,
    Platform: options.platforms ?? ['iOS'],
    IsXcodeManaged: false,
    DeveloperCertificates: options.developerCertificates ?? [],
    Entitlements: entitlements,
    ExpirationDate: expiresAt,
    Name: options.name ?? `${appId} ${options.kind}`,
    ...(withDevices ? { ProvisionedDevices: options.devices ?? [SAMPLE_UDIDS[0]] } : {}),
    ...(options.kind === 'enterprise' ? { ProvisionsAllDevices: true } : {}),
    TeamIdentifier: [teamId],
    TeamName: options.teamName ?? 'Example Inc',
    TimeToLive: Math.round((expiresAt.getTime() - createdAt.getTime()) / DAY_MS),
    UUID: options.uuid ?? randomUUID(),
    Version: 1,
    ...options.extraKeys,
  }
  // plist's own PlistValue type lacks bigint; the values built here never hold one.
  return build(profile as Parameters<typeof build>[0])
}

export interface SignOptions {
  /** Stream with `-stream`: BER with indefinite lengths and a chunked OCTET STRING, like Apple. */
  ber?: boolean
  /** PEM file of extra certificates to carry in the envelope (e.g. an intermediate). */
  chainPath?: string
}

/** Wraps a plist in a CMS SignedData (content attached) signed by `identity`, via `openssl cms -sign`. */
export function signProfile(plistXml: string | Uint8Array, identity: SigningIdentity, options: SignOptions = {}): Buffer {
  const args = ['cms', '-sign', '-nodetach', '-binary', '-outform', 'DER', '-signer', identity.certPath, '-inkey', identity.keyPath]
  if (options.ber) args.push('-stream')
  if (options.chainPath) args.push('-certfile', options.chainPath)
  return execFileSync('openssl', args, { input: plistXml, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 })
}
