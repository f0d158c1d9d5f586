import { buildTitle, cleanLine, cleanNotes, type BuildCreatedData } from './event-payloads.ts'
import { renderReleaseNotes } from '../web/release-notes.ts'

/** A mail as the SMTP sender takes it (nodemailer's message shape, the parts we use). */
export interface EmailMessage {
  from: string
  to: string
  subject: string
  text: string
  html: string
  /** Inline images, referenced from the HTML as `cid:<cid>`. */
  attachments: Array<{ filename: string; content: Buffer; contentType: string; cid: string }>
  /** `<delivery id@airstrip>`: the same on every retry, so a receiving system can spot a duplicate. */
  messageId: string
}

export const QR_CID = 'install-qr@airstrip'
export const ICON_CID = 'app-icon@airstrip'

/**
 * The QR code of the install page as a PNG, for mail clients (they block SVG and data: URLs,
 * but show inline cid: images). Encodes the https link, never itms-services (the Camera app
 * opens http(s) only).
 */
export async function qrCodePng(text: string): Promise<Buffer> {
  const { toBuffer } = await import('qrcode')
  return toBuffer(text, { type: 'png', errorCorrectionLevel: 'M', margin: 2, scale: 6 })
}

/**
 * "A new build is ready" mail: a plain-text part and an HTML part with the app icon, name,
 * version (build), release notes and the install page link, and the link's QR code for readers on
 * a computer. Everything from the upload (name, notes) is untrusted: escaped in HTML (the notes'
 * markdown through the pages' one renderer, src/web/release-notes.ts), stripped of
 * control characters everywhere. The plain text carries only the https install page, never the raw
 * itms-services link (mail clients do not open it, and it leaks a signed manifest URL).
 */
export function buildReleaseEmail(
  data: BuildCreatedData,
  options: { from: string; to: string; deliveryId: string; qrPng: Buffer; iconPng: Buffer | null },
): EmailMessage {
  const title = buildTitle(data.app.name, data.build.version, data.build.build)
  const notes = cleanNotes(data.build.notes)
  const link = data.installPageUrl
  const text = [
    `${title} is ready to install.`,
    '',
    `Install: ${link}`,
    'Open the link on your iPhone or iPad, in Safari.',
    ...(notes ? ['', 'Release notes:', notes] : []),
    '',
    '-- ',
    `Airstrip · ${cleanLine(data.app.bundleId)}`,
    '',
  ].join('\n')

  const icon = options.iconPng
    ? `<img src="cid:${ICON_CID}" width="64" height="64" alt="" style="border-radius:14px;display:block">`
    : ''
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title></head>
<body style="margin:0;padding:24px;font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Helvetica,Arial,sans-serif;color:#1d1d1f;background:#f5f5f7">
<table role="presentation" cellpadding="0" cellspacing="0" style="max-width:520px;margin:0 auto;background:#fff;border-radius:12px;padding:24px">
<tr><td>
<table role="presentation" cellpadding="0" cellspacing="0"><tr>
<td style="padding-right:16px">${icon}</td>
<td><h1 style="font-size:20px;margin:0">${escapeHtml(cleanLine(data.app.name))}</h1>
<p style="margin:4px 0 0;color:#6e6e73">${escapeHtml(versionLine(data))}</p></td>
</tr></table>
<p style="margin:24px 0"><a href="${escapeHtml(link)}" style="background:#0071e3;color:#fff;text-decoration:none;padding:12px 20px;border-radius:8px;display:inline-block">Install</a></p>
<p style="margin:0 0 16px;font-size:13px;color:#6e6e73">Open this mail on your iPhone or iPad, or go to <a href="${escapeHtml(link)}">${escapeHtml(link)}</a> in Safari.</p>
${notes ? `<h2 style="font-size:15px;margin:16px 0 4px">Release notes</h2>\n<div style="font-size:14px">${renderReleaseNotes(notes)}</div>` : ''}
<p style="margin:24px 0 4px;font-size:13px;color:#6e6e73">On a computer? Scan with your iPhone's camera:</p>
<img src="cid:${QR_CID}" width="180" height="180" alt="QR code of ${escapeHtml(link)}" style="display:block">
</td></tr></table>
</body></html>
`
  const attachments: EmailMessage['attachments'] = [{ filename: 'install-qr.png', content: options.qrPng, contentType: 'image/png', cid: QR_CID }]
  if (options.iconPng) attachments.push({ filename: 'icon.png', content: options.iconPng, contentType: 'image/png', cid: ICON_CID })
  return {
    from: options.from,
    to: options.to,
    subject: `${title} is ready to install`,
    text,
    html,
    attachments,
    messageId: `<${options.deliveryId}@airstrip>`,
  }
}

function versionLine(data: BuildCreatedData): string {
  const { version, build } = data.build
  if (version && build && build !== version) return `Version ${cleanLine(version)} (${cleanLine(build)})`
  if (version || build) return `Version ${cleanLine((version ?? build)!)}`
  return ''
}

/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}
