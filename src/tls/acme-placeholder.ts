import { webcrypto } from 'node:crypto'
import 'reflect-metadata' // tsyringe (inside @peculiar/x509) needs the Reflect metadata API loaded first
import * as x509 from '@peculiar/x509'
import type { CertificatePair } from './swappable-tls.ts'

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const

/**
 * A self-signed certificate for `domain`, served only until the first ACME certificate arrives
 * (the HTTPS port has to be up for TLS-ALPN-01, and clients deserve a TLS error rather than a
 * refused connection). Never stored; valid one day; its CN says what it is.
 */
export async function generatePlaceholderCertificate(domain: string, now: Date): Promise<CertificatePair> {
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: [{ CN: ['Airstrip placeholder: no certificate obtained yet'] }],
      keys,
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + 24 * 60 * 60 * 1000),
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
        new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: domain }], false),
      ],
    },
    webcrypto,
  )
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)
  return { certPem: `${cert.toString('pem')}\n`, keyPem: `${x509.PemConverter.encode(pkcs8, 'PRIVATE KEY')}\n` }
}
