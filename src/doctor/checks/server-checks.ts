import type { CheckDefinition } from '../types.ts'
import { pass, skip, warn } from './outcome.ts'

/** Airstrip diagnosing itself (matrix row 7): what the server sees of its own public URL. */
export const serverChecks: CheckDefinition[] = [
  {
    id: 'public-url-mismatch',
    title: 'requests arrive on the public URL',
    severity: 'warning',
    symptom: 'Links work for some people and not others, or "Cannot connect": the URLs name a host, scheme or port testers do not reach.',
    fix: 'Set --public-url to the origin testers use, and behind a TLS-terminating proxy enable --trust-proxy and forward X-Forwarded-Proto, -Host and -Port.',
    run(evidence) {
      const server = evidence.server
      if (!server) return skip('only when Airstrip diagnoses itself (GET /api/v1/doctor)')
      const expected = new URL(server.publicUrl).origin
      const details = { publicUrl: server.publicUrl, requestOrigin: server.requestOrigin, trustProxy: server.trustProxy, forwarded: server.forwardedHeaders }
      const forwarded = Object.keys(server.forwardedHeaders).length > 0
      if (!server.trustProxy && forwarded) {
        return warn(`the request came through a proxy (${Object.keys(server.forwardedHeaders).join(', ')}) but --trust-proxy is off`, details)
      }
      if (server.requestOrigin !== expected) {
        return warn(`this request arrived as ${server.requestOrigin}, but links are built from --public-url ${expected}`, details)
      }
      return pass(`requests arrive on ${expected}`, details)
    },
  },
]
