// A 512 MiB upload through the real `airstrip` binary to the real server over HTTPS, with the
// client's resident memory sampled from /proc while it streams: it must stay flat. (2 GiB takes
// about a minute on two cores, mostly writing the file: `node bench/upload.ts` measures that case.)
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { tempDir } from '../support/fixtures.ts'
import { buildIpa } from '../support/ipa-builder.ts'
import { startServer } from '../support/server.ts'

const BIN = fileURLToPath(new URL('../../bin/airstrip.js', import.meta.url))
const MiB = 1024 * 1024
const PAYLOAD = 512 * MiB

/** `size` bytes of a repeating 1 MiB pattern, streamed (nothing held in memory). */
function patternStream(size: number): Readable {
  const block = Buffer.alloc(MiB, 'airstrip ')
  let left = size
  return new Readable({
    read() {
      if (left === 0) return void this.push(null)
      const piece = left >= block.length ? block : block.subarray(0, left)
      left -= piece.length
      this.push(piece)
    },
  })
}

/** Resident set size of a live process, in bytes (Linux /proc). */
function rssOf(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) * 1024 : null
  } catch {
    return null
  }
}

test('a 512 MiB .ipa streams with flat client memory', { timeout: 120_000, skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
  const dir = tempDir(t)
  const ipa = join(dir, 'Huge.ipa')
  await buildIpa(ipa, { zip64: true, extraEntries: [{ name: 'Payload/Example.app/Assets/huge.bin', stream: () => patternStream(PAYLOAD), size: PAYLOAD, compress: false }] })
  const size = statSync(ipa).size
  assert.ok(size > PAYLOAD)
  const server = await startServer(t)
  const ca = join(dir, 'ca.pem')
  writeFileSync(ca, `-----BEGIN CERTIFICATE-----\n${server.app.services.devCaDer!.toString('base64')}\n-----END CERTIFICATE-----\n`)

  const child = spawn(process.execPath, [BIN, 'upload', ipa, '--json', '--ca-file', ca], {
    env: { PATH: process.env['PATH'] ?? '', AIRSTRIP_SERVER: server.url, AIRSTRIP_TOKEN: server.apiToken },
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
  // RSS against how far the upload got (the last progress line), sampled every 100 ms.
  const samples: Array<{ percent: number; rss: number }> = []
  const sampler = setInterval(() => {
    const rss = rssOf(child.pid!)
    const percent = Number([...stderr.matchAll(/^\s+(\d+)%/gm)].at(-1)?.[1] ?? -1)
    if (rss !== null && percent >= 0) samples.push({ percent, rss })
  }, 100)
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  clearInterval(sampler)

  assert.equal(code, 0, stderr)
  const body = JSON.parse(stdout)
  assert.equal(body.size, size)
  assert.match(stderr, /^ {2}100% {2}512\.\d MiB of 512\.\d MiB {2}.+\/s {2}sent$/m)

  const early = samples.filter((s) => s.percent >= 10 && s.percent < 30).map((s) => s.rss)
  const late = samples.filter((s) => s.percent >= 70).map((s) => s.rss)
  assert.ok(early.length > 0 && late.length > 0, `samples across the upload: ${samples.length}`)
  const earlyMax = Math.max(...early)
  const peak = Math.max(...samples.map((s) => s.rss))
  t.diagnostic(`client RSS: ${Math.round(earlyMax / MiB)} MiB at 10–30 %, peak ${Math.round(peak / MiB)} MiB; ${samples.length} samples`)
  // Flat: sending the last 30 % of the file costs no more memory than the first 30 % did.
  assert.ok(peak - earlyMax < 32 * MiB, `RSS grew from ${Math.round(earlyMax / MiB)} to ${Math.round(peak / MiB)} MiB`)
  assert.ok(peak < 300 * MiB, `peak RSS ${Math.round(peak / MiB)} MiB`)
})
