import type { Transporter } from 'nodemailer'
import { DeliveryFailure } from './delivery-failure.ts'
import type { EmailMessage } from './release-email.ts'

/** Sends one mail; throws DeliveryFailure (permanent for a 5xx refusal). One method, like PocketBase's Mailer. */
export interface EmailSender {
  send(message: EmailMessage): Promise<void>
  close(): void
}

/**
 * Mail over SMTP with nodemailer. Time limits on every phase, so a mail server that accepts
 * connections and then says nothing holds a delivery for seconds, not forever (nodemailer's
 * defaults wait up to 10 minutes for a socket). The worker runs sends in the background: a slow
 * or dead mail server never delays an upload.
 */
export function createSmtpSender(smtpUrl: string, timeouts: { connectMs: number; socketMs: number } = { connectMs: 10_000, socketMs: 30_000 }): EmailSender {
  // nodemailer is loaded at the first mail, not at start-up (idle RSS of servers that send none).
  let transport: Promise<Transporter> | null = null
  const connect = (): Promise<Transporter> =>
    (transport ??= import('nodemailer').then(({ createTransport }) =>
      createTransport({
        url: smtpUrl,
        connectionTimeout: timeouts.connectMs,
        greetingTimeout: timeouts.connectMs,
        dnsTimeout: timeouts.connectMs,
        socketTimeout: timeouts.socketMs,
      }),
    ))
  return {
    async send(message) {
      try {
        const info = await (await connect()).sendMail(message)
        if ((info.rejected ?? []).length > 0) throw new DeliveryFailure(`the mail server refused ${(info.rejected ?? []).length} recipient(s)`, { permanent: true })
      } catch (error) {
        if (error instanceof DeliveryFailure) throw error
        const code = (error as { responseCode?: number }).responseCode
        // 5xx is the server's final word on this message (unknown mailbox, policy); 4xx is "try later".
        throw new DeliveryFailure(`SMTP: ${(error as Error).message}`, { permanent: typeof code === 'number' && code >= 500 && code < 600, cause: error })
      }
    },
    close: () => void transport?.then((open) => open.close()),
  }
}
