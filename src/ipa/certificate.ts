import { X509Certificate, createHash } from 'node:crypto'
import * as asn1js from 'asn1js'
import * as pkijs from 'pkijs'
import type { CertificateSummary } from './types.ts'

const OID_COMMON_NAME = '2.5.4.3'
const OID_ORGANIZATIONAL_UNIT = '2.5.4.11'

/**
 * Summarises a DER X.509 certificate. Returns null for bytes that are not a certificate
 * (profiles in the wild carry placeholders such as "REDACTED" in DeveloperCertificates).
 */
export function summarizeCertificate(der: Uint8Array): CertificateSummary | null {
  let cert: pkijs.Certificate
  try {
    const asn1 = asn1js.fromBER(der)
    if (asn1.offset === -1) return null
    cert = new pkijs.Certificate({ schema: asn1.result })
  } catch {
    return null
  }
  return summarizeParsedCertificate(cert, der)
}

/** Same as `summarizeCertificate` for a certificate pkijs already parsed (e.g. out of a CMS envelope). */
export function summarizeParsedCertificate(cert: pkijs.Certificate, der?: Uint8Array): CertificateSummary {
  const bytes = der ?? new Uint8Array(cert.toSchema().toBER(false))
  const attribute = (oid: string): string | null => {
    const found = cert.subject.typesAndValues.find((tv) => tv.type === oid)
    return found ? String(found.value.valueBlock.value) : null
  }
  return {
    subject: attribute(OID_COMMON_NAME) ?? cert.subject.typesAndValues.map((tv) => String(tv.value.valueBlock.value)).join(', '),
    teamId: attribute(OID_ORGANIZATIONAL_UNIT),
    serialNumber: Buffer.from(cert.serialNumber.valueBlock.valueHexView).toString('hex').toUpperCase(),
    notBefore: cert.notBefore.value.toISOString(),
    notAfter: cert.notAfter.value.toISOString(),
    sha1: createHash('sha1').update(bytes).digest('hex').toUpperCase(),
  }
}

/** Node's own view of the certificate, for callers that need to verify signatures or chains. */
export function toX509(der: Uint8Array): X509Certificate {
  return new X509Certificate(der)
}
