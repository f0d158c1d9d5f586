import * as asn1js from 'asn1js'
import * as pkijs from 'pkijs'

const OID_SIGNED_DATA = '1.2.840.113549.1.7.2'

/** What Airstrip needs from a CMS SignedData envelope (provisioning profiles, code signatures, device POSTs). */
export interface SignedEnvelope {
  /** The encapsulated content (e.g. the profile's plist); null for a detached signature. */
  content: Uint8Array | null
  /** Every certificate carried in the envelope, as pkijs objects. */
  certificates: pkijs.Certificate[]
  /** The certificate named by the first SignerInfo, when it is in the envelope. */
  signer: pkijs.Certificate | null
}

/**
 * Parses a DER or BER (indefinite-length, as Apple's profile signer writes it) CMS SignedData.
 * Returns null when the bytes are not a SignedData ContentInfo, so callers can try other
 * encodings; never throws on malformed input.
 */
export function parseSignedData(bytes: Uint8Array): SignedEnvelope | null {
  try {
    const asn1 = asn1js.fromBER(bytes)
    if (asn1.offset === -1) return null
    const info = new pkijs.ContentInfo({ schema: asn1.result })
    if (info.contentType !== OID_SIGNED_DATA) return null
    const signed = new pkijs.SignedData({ schema: info.content })
    const certificates = (signed.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate)
    return { content: encapsulatedContent(signed), certificates, signer: findSigner(signed, certificates) }
  } catch {
    return null
  }
}

function encapsulatedContent(signed: pkijs.SignedData): Uint8Array | null {
  const eContent = signed.encapContentInfo.eContent
  if (!eContent) return null
  // A BER constructed OCTET STRING arrives as a list of primitive pieces: concatenate them.
  if (eContent.idBlock.isConstructed) {
    const pieces = (eContent.valueBlock as unknown as { value: asn1js.OctetString[] }).value
    return Buffer.concat(pieces.map((piece) => Buffer.from(piece.valueBlock.valueHexView)))
  }
  return new Uint8Array(eContent.valueBlock.valueHexView)
}

function findSigner(signed: pkijs.SignedData, certificates: pkijs.Certificate[]): pkijs.Certificate | null {
  const sid = signed.signerInfos[0]?.sid
  if (!(sid instanceof pkijs.IssuerAndSerialNumber)) return certificates.length === 1 ? certificates[0]! : null
  return (
    certificates.find(
      (cert) =>
        cert.serialNumber.isEqual(sid.serialNumber) && cert.issuer.isEqual(sid.issuer),
    ) ?? null
  )
}
