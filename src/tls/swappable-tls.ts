import type { Server as HttpsServer } from 'node:https'
import { createSecureContext, type SecureContext, type TLSSocket, type TlsOptions } from 'node:tls'
import type { ChallengeResponder } from './acme-challenges.ts'

/** RFC 8737: the ALPN protocol of a TLS-ALPN-01 validation handshake. */
export const ACME_TLS_PROTOCOL = 'acme-tls/1'

const MIN_VERSION = 'TLSv1.2'
/** Marks a handshake that offered only `acme-tls/1` (set by ALPNCallback, read by SNICallback). */
const WANTS_ACME_TLS = Symbol('airstrip.wantsAcmeTls')

/** A certificate chain (leaf first) and its private key, PEM. */
export interface CertificatePair {
  certPem: string
  keyPem: string
}

export interface SwappableTls {
  /** Options for the HTTPS server (fastify's `https`). */
  serverOptions: TlsOptions
  /**
   * Puts a new certificate into service for every handshake from now on. Connections already
   * open keep the certificate they were set up with, so a download in progress is not disturbed.
   */
  swap(pair: CertificatePair): void
  /** The pair new handshakes get (what enrolment profiles are signed with). */
  current(): CertificatePair
  /** The server to update too, for handshakes without SNI (clients that connect by IP address). */
  attach(server: HttpsServer): void
}

/**
 * TLS options whose certificate can be replaced while the server runs (ACME renewals), and which
 * answer TLS-ALPN-01 validation handshakes with the challenge certificate.
 *
 * NB! Node gives SNICallback no way to see the client's ALPN list, but it calls ALPNCallback
 * first and both with `this` bound to the TLSSocket: ALPNCallback marks the socket, SNICallback
 * reads the mark. That order is Node's (not documented); test/tls/acme-server.test.ts validates a
 * real TLS-ALPN-01 challenge through it, so a change in Node shows up there.
 */
export function createSwappableTls(initial: CertificatePair, challenges: ChallengeResponder | null): SwappableTls {
  let current = initial
  let context: SecureContext = createSecureContext({ cert: current.certPem, key: current.keyPem, minVersion: MIN_VERSION })
  let server: HttpsServer | null = null

  const serverOptions: TlsOptions = {
    cert: current.certPem,
    key: current.keyPem,
    minVersion: MIN_VERSION,
    SNICallback(this: TLSSocket, servername: string, done: (error: Error | null, context?: SecureContext) => void) {
      const challenge = (this as TLSSocket & { [WANTS_ACME_TLS]?: boolean })[WANTS_ACME_TLS] ? challenges?.tlsAlpnContext(servername) : undefined
      done(null, challenge ?? context)
    },
  }
  if (challenges) {
    // Setting ALPNCallback means choosing the protocol for every client that offers ALPN: pick
    // HTTP/1.1 (all we speak); a client that offers neither gets the fatal alert RFC 7301 asks for.
    serverOptions.ALPNCallback = function (this: TLSSocket, { protocols }: { servername: string; protocols: string[] }): string | undefined {
      if (protocols.length === 1 && protocols[0] === ACME_TLS_PROTOCOL) {
        ;(this as TLSSocket & { [WANTS_ACME_TLS]?: boolean })[WANTS_ACME_TLS] = true
        return ACME_TLS_PROTOCOL
      }
      return protocols.find((protocol) => protocol === 'http/1.1' || protocol === 'http/1.0')
    }
  }

  return {
    serverOptions,
    swap(pair) {
      const next = createSecureContext({ cert: pair.certPem, key: pair.keyPem, minVersion: MIN_VERSION })
      current = pair
      context = next
      server?.setSecureContext({ cert: current.certPem, key: current.keyPem, minVersion: MIN_VERSION })
    },
    attach(https) {
      server = https
    },
    current: () => current,
  }
}
