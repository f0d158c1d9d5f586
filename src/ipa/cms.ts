/**
 * CMS SignedData envelopes (RFC 5652): provisioning profiles and Mach-O code signatures. Parsed
 * with asn1js (DER, and the BER indefinite lengths Apple's profile signer writes); the few fields
 * Airstrip needs are then picked out of the ASN.1 tree by their place in the RFC's structure.
 * pkijs did this before by building a schema-checked object for every field of the envelope and
 * its certificates: ~15-60 ms per profile on a cold start and ~3 MiB of loaded code, for data we
 * never use. Signatures are not verified here.
 */
import * as asn1js from 'asn1js'

const OID_SIGNED_DATA = '1.2.840.113549.1.7.2'
const CONTEXT_SPECIFIC = 3
/**
 * asn1js by default also tries to parse every primitive OCTET STRING as nested ASN.1 (the
 * profile's 30 KB plist, every certificate extension): we never look inside them.
 */
export const BER_OPTIONS = { parseEmbedded: false, copyInput: false } as const

/** asn1js takes its fast paths only for plain Uint8Arrays, not Buffers (a view, no copy). */
export function plainBytes(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** What Airstrip needs from a CMS SignedData envelope (provisioning profiles, code signatures, device POSTs). */
export interface SignedEnvelope {
  /** The encapsulated content (e.g. the profile's plist); null for a detached signature. */
  content: Uint8Array | null
  /** Every certificate carried in the envelope, as DER. */
  certificates: Uint8Array[]
  /** The certificate named by the first SignerInfo (DER), when it is in the envelope. */
  signer: Uint8Array | null
}

/**
 * Parses a DER or BER CMS SignedData ContentInfo. Returns null when the bytes are not one, so
 * callers can try other encodings; never throws on malformed input.
 */
export function parseSignedData(bytes: Uint8Array): SignedEnvelope | null {
  try {
    return readSignedData(bytes)
  } catch {
    return null
  }
}

function readSignedData(bytes: Uint8Array): SignedEnvelope | null {
  const parsed = asn1js.fromBER(plainBytes(bytes), BER_OPTIONS)
  if (parsed.offset === -1) return null
  // ContentInfo ::= SEQUENCE { contentType OBJECT IDENTIFIER, content [0] EXPLICIT ANY }
  const [contentType, content] = sequence(parsed.result) ?? []
  if (!(contentType instanceof asn1js.ObjectIdentifier) || contentType.valueBlock.toString() !== OID_SIGNED_DATA) return null
  // SignedData ::= SEQUENCE { version, digestAlgorithms SET, encapContentInfo,
  //   certificates [0] IMPLICIT OPTIONAL, crls [1] IMPLICIT OPTIONAL, signerInfos SET }
  const fields = sequence(tagged(content, 0)?.[0])
  if (!fields || fields.length < 4) return null
  const [version, digestAlgorithms, encapContentInfo] = fields
  const signerInfos = fields.at(-1)
  if (!(version instanceof asn1js.Integer) || !(digestAlgorithms instanceof asn1js.Set) || !(signerInfos instanceof asn1js.Set)) return null
  const certificateSet = fields.slice(3, -1).find((field) => tagged(field, 0) !== null)
  // CertificateChoices: plain certificates are SEQUENCEs; the tagged alternatives are other kinds.
  const certificates = (tagged(certificateSet, 0) ?? []).filter((choice) => choice instanceof asn1js.Sequence)
  return {
    content: encapsulatedContent(encapContentInfo),
    certificates: certificates.map((cert) => cert.valueBeforeDecodeView),
    signer: findSigner(signerInfos, certificates)?.valueBeforeDecodeView ?? null,
  }
}

/** EncapsulatedContentInfo ::= SEQUENCE { eContentType OID, eContent [0] EXPLICIT OCTET STRING OPTIONAL } */
function encapsulatedContent(block: asn1js.AsnType | undefined): Uint8Array | null {
  const [type, wrapped] = sequence(block) ?? []
  if (!(type instanceof asn1js.ObjectIdentifier)) throw new Error('not an EncapsulatedContentInfo')
  if (wrapped === undefined) return null
  const octets = tagged(wrapped, 0)?.[0]
  if (!(octets instanceof asn1js.OctetString)) throw new Error('eContent is not an OCTET STRING')
  return octetStringBytes(octets)
}

/** A BER constructed OCTET STRING arrives as a list of pieces (possibly nested): concatenate them. */
function octetStringBytes(octets: asn1js.OctetString): Uint8Array {
  if (!octets.idBlock.isConstructed) return new Uint8Array(octets.valueBlock.valueHexView)
  const pieces = (octets.valueBlock as unknown as { value: asn1js.OctetString[] }).value
  return Buffer.concat(pieces.map((piece) => octetStringBytes(piece)))
}

/**
 * The certificate of the first SignerInfo. Its sid is IssuerAndSerialNumber (matched on the
 * serial and the issuer's encoded bytes, which signers copy from the certificate) or a subject
 * key identifier, which names nothing we compare: then only a lone certificate is the signer.
 */
function findSigner(signerInfos: asn1js.Set, certificates: asn1js.AsnType[]): asn1js.AsnType | null {
  const [, sid] = sequence(signerInfos.valueBlock.value[0]) ?? []
  const issuerAndSerial = sequence(sid)
  if (!issuerAndSerial) return certificates.length === 1 ? certificates[0]! : null
  const [issuer, serial] = issuerAndSerial
  if (!issuer || !(serial instanceof asn1js.Integer)) return null
  return (
    certificates.find((cert) => {
      // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer, ... }, ... }
      const tbs = sequence(sequence(cert)?.[0]) ?? []
      const [certSerial, , certIssuer] = tbs.slice(tagged(tbs[0], 0) !== null ? 1 : 0)
      return (
        certSerial instanceof asn1js.Integer && certIssuer !== undefined &&
        equalBytes(certSerial.valueBlock.valueHexView, serial.valueBlock.valueHexView) &&
        equalBytes(certIssuer.valueBeforeDecodeView, issuer.valueBeforeDecodeView)
      )
    }) ?? null
  )
}

function sequence(block: asn1js.AsnType | undefined): asn1js.AsnType[] | null {
  return block instanceof asn1js.Sequence ? block.valueBlock.value : null
}

/** The children of a constructed context-specific [tag] block, or null for anything else. */
function tagged(block: asn1js.AsnType | undefined, tag: number): asn1js.AsnType[] | null {
  if (!(block instanceof asn1js.Constructed) || block.idBlock.tagClass !== CONTEXT_SPECIFIC || block.idBlock.tagNumber !== tag) return null
  return block.valueBlock.value
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b)
}
