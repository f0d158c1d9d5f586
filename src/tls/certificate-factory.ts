import { webcrypto } from 'node:crypto'
import 'reflect-metadata' // tsyringe (inside @peculiar/x509) needs the Reflect metadata API loaded first
import * as x509 from '@peculiar/x509'
import type { TlsHost } from './hosts.ts'

/**
 * Key algorithm for both the CA and the server: RSA-2048 with SHA-256 (PKCS#1 v1.5 signatures).
 * ATS accepts RSA ≥ 2048 and ECC ≥ 256 alike; RSA-2048 is chosen because it is the one every client
 * on the path accepts without exception (iOS trust store and profile installer, old macOS/Java/curl
 * tools, TLS-inspecting proxies) and it allows the classic keyEncipherment usage. PKCS#1 v1.5 rather
 * than PSS: PSS-signed certificates are still poorly supported by Apple's certificate UI.
 */
const KEY_ALGORITHM: webcrypto.RsaHashedKeyGenParams = {
  name: 'RSASSA-PKCS1-v1_5',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: 'SHA-256',
}
const crypto = webcrypto
const DAY_MS = 24 * 60 * 60 * 1000

/** Server certificate lifetime. Apple rejects TLS certificates valid for more than 398 days (HT211025). */
export const SERVER_VALIDITY_DAYS = 397
/** CA lifetime: long, because every device has to install and trust it by hand. */
export const CA_VALIDITY_DAYS = 3650
/** notBefore is set this far in the past so a device whose clock runs a little slow still accepts it. */
export const BACKDATE_MS = 60 * 60 * 1000

/** A certificate with its private key, both PEM (key as unencrypted PKCS#8). */
export interface IssuedCertificate {
  certPem: string
  certDer: Buffer
  keyPem: string
}

/**
 * Creates the self-signed development root: basicConstraints CA:TRUE (critical, pathlen 0),
 * keyUsage keyCertSign + cRLSign (critical), subject key identifier. Self-signed with SHA-256.
 */
export async function generateCa(commonName: string, now: Date): Promise<IssuedCertificate> {
  const keys = await crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify'])
  const notBefore = new Date(now.getTime() - BACKDATE_MS)
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: [{ O: ['Airstrip'] }, { CN: [commonName] }],
      keys,
      notBefore,
      notAfter: new Date(notBefore.getTime() + CA_VALIDITY_DAYS * DAY_MS),
      signingAlgorithm: KEY_ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  )
  return finish(cert, keys.privateKey)
}

/**
 * Issues a server certificate for `hosts`, signed by the CA, meeting Apple's rules for TLS server
 * certificates (iOS 13+): every name in subjectAltName (DNS names and IP addresses), EKU serverAuth,
 * SHA-256, validity ≤ 398 days. Never outlives the CA.
 */
export async function issueServerCertificate(
  ca: { certPem: string; keyPem: string },
  hosts: readonly TlsHost[],
  now: Date,
): Promise<IssuedCertificate> {
  const caCert = new x509.X509Certificate(ca.certPem)
  const caKey = await crypto.subtle.importKey('pkcs8', pemBody(ca.keyPem), KEY_ALGORITHM, false, ['sign'])
  const keys = await crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify'])
  const notBefore = new Date(Math.max(now.getTime() - BACKDATE_MS, caCert.notBefore.getTime()))
  const notAfter = new Date(Math.min(notBefore.getTime() + SERVER_VALIDITY_DAYS * DAY_MS, caCert.notAfter.getTime()))
  const cert = await x509.X509CertificateGenerator.create(
    {
      subject: [{ O: ['Airstrip'] }, { CN: ['Airstrip development server'] }],
      issuer: caCert.subjectName,
      publicKey: keys.publicKey,
      signingKey: caKey,
      notBefore,
      notAfter,
      signingAlgorithm: KEY_ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
        new x509.SubjectAlternativeNameExtension(hosts.map((host) => ({ type: host.type, value: host.value })), false),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey, false, crypto),
      ],
    },
    crypto,
  )
  return finish(cert, keys.privateKey)
}

async function finish(cert: x509.X509Certificate, privateKey: webcrypto.CryptoKey): Promise<IssuedCertificate> {
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', privateKey)
  return {
    certPem: `${cert.toString('pem')}\n`,
    certDer: Buffer.from(cert.rawData),
    keyPem: `${x509.PemConverter.encode(pkcs8, 'PRIVATE KEY')}\n`,
  }
}

function pemBody(pem: string): ArrayBuffer {
  return x509.PemConverter.decodeFirst(pem)
}
