import { createServer as createHttpServer, type IncomingHttpHeaders } from 'node:http'
import { createServer as createNetServer, type Socket } from 'node:net'
import { simpleParser, type ParsedMail } from 'mailparser'
import { SMTPServer } from 'smtp-server'

/**
 * The far ends of notifications, real and on loopback: an SMTP server (smtp-server) that parses
 * what it receives with mailparser, a mail server that never answers, and an HTTP receiver for
 * webhooks and SMS providers whose answers a test scripts. Each closes itself when the test ends.
 */

type After = { after(fn: () => unknown): void }

export interface ReceivedMail {
  /** SMTP envelope recipients (RCPT TO). */
  envelopeTo: string[]
  envelopeFrom: string
  raw: Buffer
  parsed: ParsedMail
}

export interface SmtpPeer {
  url: string
  messages: ReceivedMail[]
  close(): Promise<void>
}

/**
 * A real SMTP server. `rejectRecipients` answers RCPT TO with this SMTP code (e.g. 550 "no such
 * user") instead of accepting; STARTTLS is off so the client talks plain SMTP on loopback.
 */
export async function startSmtpPeer(t: After, options: { rejectRecipients?: number } = {}): Promise<SmtpPeer> {
  const messages: ReceivedMail[] = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(_address, _session, callback) {
      if (options.rejectRecipients) {
        const error = Object.assign(new Error('mailbox unavailable'), { responseCode: options.rejectRecipients })
        callback(error)
      } else callback()
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => {
        const raw = Buffer.concat(chunks)
        simpleParser(raw, { keepCidLinks: true })
          .then((parsed) => {
            messages.push({
              raw,
              parsed,
              envelopeTo: session.envelope.rcptTo.map((r) => r.address),
              envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            })
            callback()
          })
          .catch((error: Error) => callback(error))
      })
    },
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.server.address() as { port: number }).port
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()))
  t.after(close)
  return { url: `smtp://127.0.0.1:${port}`, messages, close }
}

/** A "mail server" that accepts connections and never says a word: the worst kind of failing. */
export async function startSilentSmtpPeer(t: After): Promise<{ url: string; connections: number; openSockets(): number; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  let connections = 0
  const server = createNetServer((socket) => {
    connections++
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  const close = async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  t.after(close)
  return {
    url: `smtp://127.0.0.1:${port}`,
    get connections() {
      return connections
    },
    openSockets: () => sockets.size,
    close,
  }
}

export interface ReceivedRequest {
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: Buffer
  /** The status this receiver answered with. */
  status: number
}

export interface HttpPeer {
  url: string
  requests: ReceivedRequest[]
  /** Decides each answer's status from the requests so far (the new one included). */
  respond: (request: ReceivedRequest, index: number) => number
  close(): Promise<void>
}

/** A real HTTP server recording every request; answers 200 unless `respond` says otherwise. */
export async function startHttpPeer(t: After, respond: HttpPeer['respond'] = () => 200): Promise<HttpPeer> {
  const peer: HttpPeer = { url: '', requests: [], respond, close: async () => {} }
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const request: ReceivedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks), status: 0 }
      request.status = peer.respond(request, peer.requests.length)
      peer.requests.push(request)
      res.writeHead(request.status, { 'content-type': 'text/plain' }).end(request.status < 300 ? 'ok' : 'try again later')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  peer.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  peer.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  t.after(peer.close)
  return peer
}

/** Polls `check` until it returns a truthy value (then returns it) or `timeoutMs` passes. */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 15_000): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value as Exclude<T, false | null | undefined | 0 | ''>
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}
