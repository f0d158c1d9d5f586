import * as asn1js from 'asn1js'
import type * as pkijs from 'pkijs'
import { AirstripError, isAirstripError } from '../errors.ts'
import { parsePlistDict } from '../ipa/plist.ts'
import type { PlistDict } from '../ipa/types.ts'
import { normalizeUdid } from './udid.ts'

/** The largest device answer accepted. Real ones are 3–8 KiB (a plist and a device certificate chain). */
export const MAX_DEVICE_RESPONSE_BYTES = 64 * 1024
/** Longest attribute value kept; anything longer is not something iOS sends. */
const MAX_ATTRIBUTE_LENGTH = 256
const OID_SIGNED_DATA = '1.2.840.113549.1.7.2'

/** What a device sent in answer to the Profile Service payload. */
export interface DeviceResponse {
  /** In Apple's spelling (see `normalizeUdid`). */
  udid: string
  product: string | null
  /** The OS build, e.g. "22D63" (VERSION is a build string, not "18.3"). */
  version: string | null
  serial: string | null
  deviceName: string | null
  challenge: string | null
  signature: {
    /** The CMS signature checks out against the certificate the envelope names as signer. */
    verified: boolean
    /** That certificate chains to a configured device CA; null when none is configured. */
    chainVerified: boolean | null
    /** Subject of the signer certificate, e.g. the device's identity. */
    signer: string | null
  }
}

export interface ReadDeviceResponseOptions {
  /** Clock for certificate validity during chain checks. */
  now: Date
  /** Roots the device certificate must chain to (Apple's device CA), when configured. */
  trustedCas?: readonly pkijs.Certificate[] | null
}

/**
 * Reads the body iOS POSTs after the Profile Service payload is installed: a DER (or BER) CMS
 * SignedData whose encapsulated content is an XML plist of the requested attributes plus
 * CHALLENGE, signed by the device's identity certificate (which chains to Apple's "iPhone Device
 * CA"). Everything is checked in order and refused with `invalid-device-response` (or
 * `invalid-udid`) naming what is wrong: size, CMS structure, a signer, the plist, the UDID. The
 * signature is verified and the result recorded, not required — only a configured device CA makes
 * the chain mandatory (`device-signature-invalid`).
 */
export async function readDeviceResponse(body: Uint8Array, options: ReadDeviceResponseOptions): Promise<DeviceResponse> {
  if (body.byteLength === 0) throw refused('the body is empty')
  if (body.byteLength > MAX_DEVICE_RESPONSE_BYTES) {
    throw new AirstripError('upload-too-large', `the device response is ${body.byteLength} bytes; at most ${MAX_DEVICE_RESPONSE_BYTES} are accepted`)
  }
  const cms = await loadPkijs()
  const signed = decodeSignedData(cms, body)
  if (signed.signerInfos.length === 0) throw refused('the CMS envelope has no signer')
  const content = encapsulatedContent(signed)
  if (content === null || content.byteLength === 0) throw refused('the CMS envelope carries no content (detached signature)')

  let plist: PlistDict
  try {
    plist = parsePlistDict(content, 'device response')
  } catch (error) {
    if (isAirstripError(error)) throw refused(error.message)
    throw error
  }
  const rawUdid = plist['UDID']
  if (typeof rawUdid !== 'string' || rawUdid.trim() === '') throw refused('the plist has no UDID')
  const udid = normalizeUdid(rawUdid)
  if (udid === null) {
    throw new AirstripError('invalid-udid', `"${rawUdid.slice(0, 60)}" is not a device UDID (40 hex characters, or 8 + 16 hex separated by "-")`)
  }

  const signature = await verifySignature(cms, signed, options)
  if (options.trustedCas && options.trustedCas.length > 0 && signature.chainVerified !== true) {
    throw new AirstripError('device-signature-invalid', `the device response is not signed by a certificate issued by the configured device CA${signature.signer ? ` (signer: ${signature.signer})` : ''}`)
  }
  return {
    udid,
    product: text(plist, 'PRODUCT'),
    version: text(plist, 'VERSION'),
    serial: text(plist, 'SERIAL'),
    deviceName: text(plist, 'DEVICE_NAME'),
    challenge: text(plist, 'CHALLENGE'),
    signature,
  }
}

/** Parses PEM certificates (a device CA bundle) for `trustedCas`. */
export async function parseCertificatesPem(pem: string): Promise<pkijs.Certificate[]> {
  const cms = await loadPkijs()
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/g) ?? []
  return blocks.map((block) => cms.Certificate.fromBER(Buffer.from(block.replace(/-----[A-Z ]+-----|\s+/g, ''), 'base64')))
}

/** asn1js throws, rather than reporting, on some malformed primitives (an unparseable GeneralizedTime). */
function parseBer(body: Uint8Array): ReturnType<typeof asn1js.fromBER> {
  try {
    return asn1js.fromBER(body)
  } catch (error) {
    throw refused(`the body is not DER/BER (${(error as Error).message}); expected a CMS SignedData`)
  }
}

/**
 * pkijs, loaded on the first device answer rather than at start: it is ~2 MiB of heap that a server
 * no device enrols with never needs (src/devices/cms-signer.ts does the same).
 */
function loadPkijs(): Promise<typeof pkijs> {
  return import('pkijs')
}

function decodeSignedData(cms: typeof pkijs, body: Uint8Array): pkijs.SignedData {
  const asn1 = parseBer(body)
  if (asn1.offset === -1) throw refused(`the body is not DER/BER (${asn1.result.error || 'unreadable ASN.1'}); expected a CMS SignedData`)
  if (asn1.offset !== body.byteLength) throw refused(`${body.byteLength - asn1.offset} bytes of garbage after the CMS envelope`)
  let info: pkijs.ContentInfo
  try {
    info = new cms.ContentInfo({ schema: asn1.result })
  } catch {
    throw refused('the body is ASN.1 but not a CMS ContentInfo')
  }
  if (info.contentType !== OID_SIGNED_DATA) throw refused(`the CMS content type is ${info.contentType}, not SignedData`)
  try {
    return new cms.SignedData({ schema: info.content })
  } catch {
    throw refused('the CMS SignedData is malformed')
  }
}

function encapsulatedContent(signed: pkijs.SignedData): Uint8Array | null {
  const eContent = signed.encapContentInfo.eContent
  if (!eContent) return null
  // BER allows a constructed OCTET STRING: a list of primitive pieces.
  if (eContent.idBlock.isConstructed) {
    const pieces = (eContent.valueBlock as unknown as { value: asn1js.OctetString[] }).value
    return Buffer.concat(pieces.map((piece) => Buffer.from(piece.valueBlock.valueHexView)))
  }
  return new Uint8Array(eContent.valueBlock.valueHexView)
}

async function verifySignature(cms: typeof pkijs, signed: pkijs.SignedData, options: ReadDeviceResponseOptions): Promise<DeviceResponse['signature']> {
  const certificates = (signed.certificates ?? []).filter((cert): cert is pkijs.Certificate => cert instanceof cms.Certificate)
  const sid = signed.signerInfos[0]!.sid
  const signerCert =
    sid instanceof cms.IssuerAndSerialNumber ? certificates.find((cert) => cert.serialNumber.isEqual(sid.serialNumber) && cert.issuer.isEqual(sid.issuer)) : undefined
  const signer = signerCert ? subjectOf(signerCert) : null
  // pkijs throws for some failures (no signer certificate, unsupported algorithm) and returns false for others.
  const attempt = async (checkChain: boolean): Promise<boolean> => {
    try {
      const result = await signed.verify({
        signer: 0,
        checkChain,
        extendedMode: true,
        checkDate: options.now,
        ...(checkChain ? { trustedCerts: [...(options.trustedCas ?? [])] } : {}),
      })
      return result.signatureVerified === true && (!checkChain || result.signerCertificateVerified === true)
    } catch {
      return false
    }
  }
  const verified = await attempt(false)
  const chainVerified = options.trustedCas && options.trustedCas.length > 0 ? verified && (await attempt(true)) : null
  return { verified, chainVerified, signer }
}

function subjectOf(cert: pkijs.Certificate): string {
  return cert.subject.typesAndValues
    .map((entry) => {
      const value = entry.value.valueBlock.value
      return typeof value === 'string' ? value : ''
    })
    .filter((value) => value !== '')
    .join(', ')
    .slice(0, 300)
}

function text(plist: PlistDict, key: string): string | null {
  const value = plist[key]
  if (typeof value !== 'string') return null
  const trimmed = value.trim()
  return trimmed === '' ? null : trimmed.slice(0, MAX_ATTRIBUTE_LENGTH)
}

function refused(reason: string): AirstripError {
  return new AirstripError('invalid-device-response', `the device response is not usable: ${reason}`)
}
