import { X509Certificate, createHash } from 'node:crypto'
import * as asn1js from 'asn1js'
import { BER_OPTIONS, plainBytes } from './cms.ts'
import type { CertificateSummary } from './types.ts'

const OID_COMMON_NAME = '2.5.4.3'
const OID_ORGANIZATIONAL_UNIT = '2.5.4.11'

/**
 * Summarises a DER X.509 certificate. Returns null for bytes that are not a certificate
 * (profiles in the wild carry placeholders such as "REDACTED" in DeveloperCertificates).
 *
 * Node's X509Certificate (OpenSSL, native) reads it: a profile carries up to dozens of
 * certificates and building them with pkijs cost ~30 ms cold. What OpenSSL does not hand over as
 * Airstrip shows it (a subject without a common name, a negative serial) or refuses to parse is
 * read from the asn1js tree instead, with the same rules.
 */
export function summarizeCertificate(der: Uint8Array): CertificateSummary | null {
  // DER starts with a SEQUENCE; X509Certificate would also accept PEM text, which is no DER certificate.
  if (der[0] !== 0x30) return null
  let cert: X509Certificate
  try {
    cert = new X509Certificate(der)
  } catch {
    return summarizeWithAsn1(der)
  }
  const subject = subjectAttributes(cert.subject)
  const commonName = subject.find(([type]) => type === 'CN')?.[1]
  // X509Certificate drops the DER sign byte of a serial whose top bit is set; put it back.
  const serial = cert.serialNumber.toUpperCase()
  if (commonName === undefined || serial.startsWith('-') || Number.isNaN(cert.validFromDate.getTime() + cert.validToDate.getTime())) return summarizeWithAsn1(der)
  return {
    subject: commonName,
    teamId: subject.find(([type]) => type === 'OU')?.[1] ?? null,
    serialNumber: /^[89A-F]/.test(serial) ? `00${serial}` : serial.length % 2 ? `0${serial}` : serial,
    notBefore: cert.validFromDate.toISOString(),
    notAfter: cert.validToDate.toISOString(),
    sha1: sha1(der),
  }
}

/**
 * The attributes of X509Certificate#subject, in order. Node prints it with OpenSSL's RFC 2253
 * escaping, one RDN per line, " + " between the values of a multi-valued RDN: "," "+" '"' "\"
 * "<" ">" ";" (and "#" or a space at either end) come backslash-escaped, control characters as
 * "\XX"; UTF-8 is kept as is. (toLegacyObject() has the values unescaped, but its first call
 * loads node:tls, ~5-10 ms on a cold start.) A value OpenSSL had to dump as "#hex" is left out.
 */
function subjectAttributes(subject: string): Array<[type: string, value: string]> {
  const attributes: Array<[string, string]> = []
  for (const rdn of subject.split('\n')) {
    for (const pair of rdn.split(' + ')) {
      const equals = pair.indexOf('=')
      if (equals <= 0 || pair[equals + 1] === '#') continue
      const value = pair.slice(equals + 1).replace(/\\([0-9A-F]{2}|[^])/g, (_, escaped: string) => (escaped.length === 2 ? String.fromCharCode(parseInt(escaped, 16)) : escaped))
      attributes.push([pair.slice(0, equals), value])
    }
  }
  return attributes
}

function sha1(der: Uint8Array): string {
  return createHash('sha1').update(der).digest('hex').toUpperCase()
}

/**
 * The same summary from the ASN.1 tree: Certificate ::= SEQUENCE { tbsCertificate SEQUENCE {
 * [0] version OPTIONAL, serialNumber, signature, issuer, validity SEQUENCE { notBefore, notAfter },
 * subject Name, ... }, ... }. The subject is its common name, else all its values joined.
 */
function summarizeWithAsn1(der: Uint8Array): CertificateSummary | null {
  try {
    const parsed = asn1js.fromBER(plainBytes(der), BER_OPTIONS)
    if (parsed.offset === -1 || !(parsed.result instanceof asn1js.Sequence)) return null
    const tbs = parsed.result.valueBlock.value[0]
    if (!(tbs instanceof asn1js.Sequence)) return null
    const fields = tbs.valueBlock.value
    const [serial, , , validity, subject] = fields.slice(fields[0]?.idBlock.tagClass === 3 ? 1 : 0)
    if (!(serial instanceof asn1js.Integer) || !(validity instanceof asn1js.Sequence) || !(subject instanceof asn1js.Sequence)) return null
    const [notBefore, notAfter] = validity.valueBlock.value.map(toDate)
    if (!notBefore || !notAfter) return null
    const attributes: Array<{ type: string; value: string }> = []
    for (const rdn of subject.valueBlock.value) {
      if (!(rdn instanceof asn1js.Set)) return null
      for (const pair of rdn.valueBlock.value) {
        const [type, value] = pair instanceof asn1js.Sequence ? pair.valueBlock.value : []
        if (!(type instanceof asn1js.ObjectIdentifier) || !value) return null
        attributes.push({ type: type.valueBlock.toString(), value: String((value.valueBlock as unknown as { value: unknown }).value) })
      }
    }
    const attribute = (oid: string): string | null => attributes.find((a) => a.type === oid)?.value ?? null
    return {
      subject: attribute(OID_COMMON_NAME) ?? attributes.map((a) => a.value).join(', '),
      teamId: attribute(OID_ORGANIZATIONAL_UNIT),
      serialNumber: Buffer.from(serial.valueBlock.valueHexView).toString('hex').toUpperCase(),
      notBefore: notBefore.toISOString(),
      notAfter: notAfter.toISOString(),
      sha1: sha1(der),
    }
  } catch {
    return null
  }
}

function toDate(time: asn1js.AsnType): Date | null {
  return time instanceof asn1js.UTCTime || time instanceof asn1js.GeneralizedTime ? time.toDate() : null
}
