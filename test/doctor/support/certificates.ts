/**
 * Throw-away TLS certificates for doctor's tests, made in-process with @peculiar/x509 (the library
 * src/tls uses): a root CA, an intermediate, and leaves with any dates, names, AIA URL and
 * lifetime, including the broken ones (self-signed, expired, wrong host, no SAN, 900 days).
 * ECDSA P-256 keys: real X.509, generated in milliseconds.
 */
import { randomBytes, webcrypto } from 'node:crypto'
import 'reflect-metadata' // tsyringe inside @peculiar/x509 needs the Reflect metadata API first
import * as x509 from '@peculiar/x509'

const crypto = webcrypto
const KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const
const DAY = 24 * 60 * 60 * 1000

export interface TestCertificate {
  cert: x509.X509Certificate
  certPem: string
  keyPem: string
  keys: webcrypto.CryptoKeyPair
}

export interface CaOptions {
  /** Signed by this CA (an intermediate); self-signed root when absent. */
  issuer?: TestCertificate
}

export interface LeafOptions {
  /** SAN entries (DNS names and IPs); null writes no subjectAltName at all. */
  hosts?: string[] | null
  commonName?: string
  notBefore?: Date
  notAfter?: Date
  /** AIA "CA Issuers" URL, where the issuer's certificate can be downloaded. */
  caIssuersUrl?: string
  /** Extended key usage; default serverAuth. */
  extendedKeyUsage?: string[]
}

async function finish(cert: x509.X509Certificate, keys: webcrypto.CryptoKeyPair): Promise<TestCertificate> {
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey)
  return { cert, certPem: `${cert.toString('pem')}\n`, keyPem: `${x509.PemConverter.encode(pkcs8, 'PRIVATE KEY')}\n`, keys }
}

const serial = (): string => `01${randomBytes(8).toString('hex')}`

export async function makeCa(name: string, options: CaOptions = {}): Promise<TestCertificate> {
  const keys = (await crypto.subtle.generateKey(KEY, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair
  const notBefore = new Date(Date.now() - DAY)
  const notAfter = new Date(Date.now() + 3650 * DAY)
  const extensions = [
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
  ]
  if (!options.issuer) {
    const cert = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: serial(), name: `CN=${name}, O=Doctor Tests`, keys, notBefore, notAfter, signingAlgorithm: SIGNING, extensions }, crypto)
    return finish(cert, keys)
  }
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serial(),
      subject: `CN=${name}, O=Doctor Tests`,
      issuer: options.issuer.cert.subject,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: options.issuer.keys.privateKey,
      signingAlgorithm: SIGNING,
      extensions: [...extensions, await x509.AuthorityKeyIdentifierExtension.create(options.issuer.keys.publicKey, false, crypto)],
    },
    crypto,
  )
  return finish(cert, keys)
}

/** A TLS server certificate signed by `issuer`, or self-signed with 'self'. */
export async function makeLeaf(issuer: TestCertificate | 'self', options: LeafOptions = {}): Promise<TestCertificate> {
  const keys = (await crypto.subtle.generateKey(KEY, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair
  const hosts = options.hosts === undefined ? ['localhost', '127.0.0.1'] : options.hosts
  const notBefore = options.notBefore ?? new Date(Date.now() - DAY)
  const notAfter = options.notAfter ?? new Date(notBefore.getTime() + 90 * DAY)
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(options.extendedKeyUsage ?? [x509.ExtendedKeyUsage.serverAuth], false),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
  ]
  if (hosts) {
    extensions.push(new x509.SubjectAlternativeNameExtension(hosts.map((host) => ({ type: /^[\d.]+$/.test(host) ? 'ip' : 'dns', value: host }) as const), false))
  }
  if (options.caIssuersUrl) extensions.push(new x509.AuthorityInfoAccessExtension({ caIssuers: options.caIssuersUrl }))
  const subject = `CN=${options.commonName ?? hosts?.[0] ?? 'localhost'}, O=Doctor Tests`
  if (issuer === 'self') {
    const cert = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: serial(), name: subject, keys, notBefore, notAfter, signingAlgorithm: SIGNING, extensions }, crypto)
    return finish(cert, keys)
  }
  extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey, false, crypto))
  const cert = await x509.X509CertificateGenerator.create(
    { serialNumber: serial(), subject, issuer: issuer.cert.subject, notBefore, notAfter, publicKey: keys.publicKey, signingKey: issuer.keys.privateKey, signingAlgorithm: SIGNING, extensions },
    crypto,
  )
  return finish(cert, keys)
}

/** The PEM chain a server sends: the leaf first, then intermediates. */
export function chainPem(...certs: TestCertificate[]): string {
  return certs.map((c) => c.certPem).join('')
}

/** A test PKI: root (given to doctor with --ca-file), intermediate, and a good leaf for localhost. */
export interface TestPki {
  root: TestCertificate
  intermediate: TestCertificate
  leaf: TestCertificate
}

export async function makePki(): Promise<TestPki> {
  const root = await makeCa('Doctor Test Root CA')
  const intermediate = await makeCa('Doctor Test Intermediate CA', { issuer: root })
  const leaf = await makeLeaf(intermediate)
  return { root, intermediate, leaf }
}

export const DAYS = DAY
