/**
 * An inline SVG QR code (error correction M, 2-module quiet zone) for desktop visitors to scan
 * with the phone camera. Encode the https install page, not the itms-services link: the Camera app
 * opens http(s) links only, and a QR payload is never HTML-decoded, so an `&amp;` copied from HTML
 * would break an itms-services payload (OTA notes §B.2).
 */
export async function qrCodeSvg(text: string): Promise<string> {
  // Loaded on the first desktop visit, not at start (~1 MiB of heap a CI-only server never needs).
  const { toString } = await import('qrcode')
  const svg = await toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 })
  return svg.trim()
}
