import { isIP, isIPv6 } from 'node:net'
import { AirstripError } from '../errors.ts'

/** One subjectAltName entry of a server certificate: a DNS name or an IP address, canonical form. */
export interface TlsHost {
  type: 'dns' | 'ip'
  value: string
}

const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/
const NOT_A_BARE_HOST = /[\s/?#@\\[\]%]|:/

/**
 * Turns one host as an operator wrote it ("Airstrip.Local.", "[::1]", "192.168.1.20", "büro.lan")
 * into the SAN entry iOS will match against: lower-case punycoded DNS name, or an IP literal in
 * canonical form (IPv6 compressed, embedded IPv4 folded to hex). Canonical forms let a stored
 * certificate be compared with the configured host list without spurious regeneration.
 * Throws `bad-request` for ports, paths, zone IDs and other things a certificate cannot carry.
 */
export function normalizeHost(input: string): TlsHost {
  const raw = input.trim().replace(/^\[(.*)\]$/, '$1')
  const fail = (why: string): never => {
    throw new AirstripError('bad-request', `invalid TLS host ${JSON.stringify(input)}: ${why}`, { details: { host: input } })
  }
  if (raw === '') fail('empty')
  if (isIPv6(raw)) {
    if (raw.includes('%')) fail('an IPv6 zone ID cannot appear in a certificate')
    let canonical = ''
    try {
      canonical = new URL(`https://[${raw}]/`).hostname.slice(1, -1)
    } catch {
      fail('not a usable IPv6 address')
    }
    return { type: 'ip', value: canonical }
  }
  if (isIP(raw) === 4) return { type: 'ip', value: raw.split('.').map((part) => String(Number(part))).join('.') }
  if (NOT_A_BARE_HOST.test(raw)) fail('give a bare host name or IP address (no scheme, port or path)')
  let hostname = ''
  try {
    hostname = new URL(`https://${raw}/`).hostname
  } catch {
    fail('not a valid host name')
  }
  if (isIP(hostname) !== 0) fail('looks like a shortened IP address; write it in full')
  hostname = hostname.replace(/\.$/, '')
  const labels = hostname.split('.')
  const wildcard = labels[0] === '*' && labels.length > 2
  const checked = wildcard ? labels.slice(1) : labels
  if (hostname.length > 253 || !checked.every((label) => DNS_LABEL.test(label))) fail('not a valid DNS name')
  return { type: 'dns', value: hostname }
}

/** Normalizes, de-duplicates and sorts a host list; at least one host is required. */
export function normalizeHosts(hosts: readonly string[]): TlsHost[] {
  const byKey = new Map<string, TlsHost>()
  for (const host of hosts) {
    const normalized = normalizeHost(host)
    byKey.set(hostKey(normalized), normalized)
  }
  if (byKey.size === 0) throw new AirstripError('bad-request', 'at least one TLS host name or IP address is required')
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, host]) => host)
}

/** A stable string for comparing host sets ("dns:example.lan", "ip:::1"). */
export function hostKey(host: TlsHost): string {
  return `${host.type}:${host.value}`
}
