import { BlockList, isIP } from 'node:net'
import { AirstripError } from '../errors.ts'

/**
 * Where webhooks may go. A webhook URL is chosen by whoever holds an API token, and Airstrip
 * POSTs to it from inside your network: without limits that is a server-side request forgery
 * (SSRF) door to the metadata service (169.254.169.254), localhost admin ports and the LAN. So by
 * default a destination must resolve only to public unicast addresses; the check runs on the
 * addresses actually connected to (see outbound-http.ts), which also defeats DNS rebinding.
 * `--webhook-allow-private-networks` lifts it for webhooks inside a private network.
 */

// Two lists: a BlockList checks IPv4 addresses against IPv6 rules too (as ::ffff:a.b.c.d).
const BLOCKED_V4 = new BlockList()
const BLOCKED_V6 = new BlockList()
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  BLOCKED_V4.addSubnet(network, prefix, 'ipv4')
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['::ffff:0:0', 96], // IPv4-mapped: would smuggle any IPv4 address past the list above
  ['64:ff9b::', 96], // NAT64, same
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  BLOCKED_V6.addSubnet(network, prefix, 'ipv6')
}

/** True for loopback, private, link-local, multicast, reserved and documentation addresses. */
export function isNonPublicAddress(address: string): boolean {
  const family = isIP(address)
  if (family === 0) return true
  return family === 4 ? BLOCKED_V4.check(address, 'ipv4') : BLOCKED_V6.check(address, 'ipv6')
}

/**
 * Checks a webhook URL when it is registered: http(s) only, no credentials (they would be sent
 * as Basic auth to whoever answers), at most 2048 characters, and — unless private networks are
 * allowed — not an IP literal or name that is obviously internal. Names are checked again, against
 * their resolved addresses, at every delivery.
 */
export function checkWebhookUrl(value: string, options: { allowPrivateNetworks: boolean }): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new AirstripError('webhook-url-refused', 'the webhook URL is not an absolute URL')
  }
  if (value.length > 2048) throw new AirstripError('webhook-url-refused', 'the webhook URL is longer than 2048 characters')
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new AirstripError('webhook-url-refused', 'a webhook URL must be http:// or https://')
  if (url.username || url.password) throw new AirstripError('webhook-url-refused', 'a webhook URL must not carry credentials')
  if (!options.allowPrivateNetworks) {
    const host = url.hostname.replace(/^\[|\]$/g, '')
    if ((isIP(host) !== 0 && isNonPublicAddress(host)) || host === 'localhost' || host.endsWith('.localhost')) {
      throw new AirstripError('webhook-url-refused', `${host} is a private or loopback address; start the server with --webhook-allow-private-networks to allow it`)
    }
  }
  return url.href
}
