import { X509Certificate, createHash, createPrivateKey, webcrypto, type KeyObject } from 'node:crypto'
import * as asn1js from 'asn1js'
import type * as pkijs from 'pkijs'

const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
} as const

/** Signs content into a CMS SignedData (content attached), e.g. a `.mobileconfig`. */
export interface CmsSigner {
  /** Subject of the signing certificate, for display ("CN=ota.example.com"). */
  subject: string
  /** DER of a ContentInfo wrapping the SignedData. */
  sign(content: Uint8Array, signingTime: Date): Promise<Buffer>
}

/**
 * A CMS signer over a certificate chain and its private key (PEM), as the HTTPS server uses them:
 * signing a configuration profile with the server's publicly trusted TLS certificate, chain
 * included, is what makes Settings show it as "Verified" (signature checked up to a root the
 * device trusts). RSA and EC (P-256, P-384) keys; throws when the key does not match the first
 * certificate. Built on pkijs (the CMS library Airstrip already reads profiles with).
 */
export async function createCmsSigner(input: { certificateChainPem: string; privateKeyPem: string }): Promise<CmsSigner> {
  const pems = input.certificateChainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
  if (pems.length === 0) throw new Error('the signing chain holds no PEM certificate')
  const certificates = pems.map((pem) => new X509Certificate(pem))
  const leaf = certificates[0]!
  const key = createPrivateKey(input.privateKeyPem)
  if (!leaf.checkPrivateKey(key)) throw new Error('the private key does not belong to the first certificate of the chain')
  const { algorithm, hash } = webCryptoAlgorithm(key)
  const privateKey = await webcrypto.subtle.importKey('pkcs8', key.export({ format: 'der', type: 'pkcs8' }), algorithm, false, ['sign'])
  // Each certificate once, leaf first (a chain file may repeat one).
  const seen = new Set<string>()
  const unique = certificates.filter((cert) => !seen.has(cert.fingerprint256) && seen.add(cert.fingerprint256))
  // pkijs is loaded at the first signature, not at start (the checks above run at start): ~2 MiB
  // of heap that a server whose testers never enrol a device does without.
  let loaded: Promise<{ cms: typeof pkijs; chain: pkijs.Certificate[] }> | null = null
  const load = async () => {
    const cms = await import('pkijs')
    return { cms, chain: unique.map((cert) => cms.Certificate.fromBER(cert.raw)) }
  }

  return {
    subject: leaf.subject.replaceAll('\n', ', '),
    async sign(content, signingTime) {
      const { cms, chain } = await (loaded ??= load())
      const signer = chain[0]!
      const digest = createHash(hash.replace('-', '').toLowerCase()).update(content).digest()
      const signed = new cms.SignedData({
        version: 1,
        encapContentInfo: new cms.EncapsulatedContentInfo({ eContentType: OID.data, eContent: new asn1js.OctetString({ valueHex: toArrayBuffer(content) }) }),
        signerInfos: [
          new cms.SignerInfo({
            version: 1,
            sid: new cms.IssuerAndSerialNumber({ issuer: signer.issuer, serialNumber: signer.serialNumber }),
            signedAttrs: new cms.SignedAndUnsignedAttributes({
              type: 0,
              attributes: [
                new cms.Attribute({ type: OID.contentType, values: [new asn1js.ObjectIdentifier({ value: OID.data })] }),
                new cms.Attribute({ type: OID.signingTime, values: [new asn1js.UTCTime({ valueDate: signingTime })] }),
                new cms.Attribute({ type: OID.messageDigest, values: [new asn1js.OctetString({ valueHex: toArrayBuffer(digest) })] }),
              ],
            }),
          }),
        ],
        certificates: chain,
      })
      await signed.sign(privateKey, 0, hash)
      const info = new cms.ContentInfo({ contentType: OID.signedData, content: signed.toSchema(true) })
      return Buffer.from(info.toSchema().toBER(false))
    },
  }
}

function webCryptoAlgorithm(key: KeyObject): { algorithm: webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams; hash: 'SHA-256' | 'SHA-384' } {
  if (key.asymmetricKeyType === 'rsa') return { algorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, hash: 'SHA-256' }
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve
    if (curve === 'prime256v1') return { algorithm: { name: 'ECDSA', namedCurve: 'P-256' }, hash: 'SHA-256' }
    if (curve === 'secp384r1') return { algorithm: { name: 'ECDSA', namedCurve: 'P-384' }, hash: 'SHA-384' }
  }
  throw new Error(`cannot sign profiles with a ${key.asymmetricKeyType ?? 'unknown'} key (RSA, EC P-256 or P-384 only)`)
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
}
