import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { parseReleaseNotes } from '../builds/release-notes-edit.ts'
import { AirstripError, isAirstripError } from '../errors.ts'
import type { UploadListener } from '../delivery/upload-client.ts'
import type { ProgressSnapshot } from '../delivery/upload-progress.ts'
import { formatBytes, type Output } from './output.ts'

interface UploadOptions {
  server?: string
  token?: string
  notes?: string
  notesFile?: string
  notify?: boolean
  json?: boolean
  caFile?: string
  retries?: string
  retryDelay?: string
}

/**
 * `airstrip upload <file.ipa>`: checks the .ipa locally, streams it to a server's API and prints
 * the install page URL (or, with --json, the server's answer). Exit status: 0 uploaded; 1 not
 * uploaded because of the network or the server (retrying later may help); 2 refused — the file
 * (locally or by the server), the token, the size; 64 wrong usage.
 */
export function registerUpload(program: Command, output: Output, env: Record<string, string | undefined>, setExitCode: (code: number) => void): void {
  program
    .command('upload')
    .description('upload an .ipa to an Airstrip server (streamed, retried on transient failures) and print its install page URL')
    .argument('<file>', 'the .ipa to upload')
    .option('--server <url>', "the server's public URL [AIRSTRIP_SERVER]")
    .option('--token <token>', 'an API token from "airstrip token create" [AIRSTRIP_TOKEN]')
    .option('--notes <text>', 'release notes shown on the install page')
    .option('--notes-file <file>', 'read the release notes from a UTF-8 file')
    .option('--notify', "notify the app's testers about this build")
    .option('--json', "print the server's JSON answer on stdout")
    .option('--ca-file <pem>', "also trust this CA (PEM) for the server's certificate (NODE_EXTRA_CA_CERTS works too)")
    .option('--retries <n>', 'retries of transient failures: connection reset, 502/503/504 (default 4)')
    .option('--retry-delay <ms>', 'first backoff delay, doubled at each retry (default 1000)')
    .action(async (file: string, options: UploadOptions) => {
      const usage = (message: string): void => {
        output.stderr.write(`airstrip upload: ${message}\n`)
        setExitCode(64)
      }
      const serverUrl = options.server ?? env['AIRSTRIP_SERVER']
      const token = options.token ?? env['AIRSTRIP_TOKEN']
      if (!serverUrl) return usage('--server <url> (or AIRSTRIP_SERVER) is required')
      if (!token) return usage('--token <token> (or AIRSTRIP_TOKEN) is required')
      if (options.notes !== undefined && options.notesFile !== undefined) return usage('give --notes or --notes-file, not both')
      const retries = wholeNumber(options.retries, 4, 20)
      const retryDelay = wholeNumber(options.retryDelay, 1000, 600_000)
      if (retries === null) return usage('--retries must be a whole number from 0 to 20')
      if (retryDelay === null) return usage('--retry-delay must be a whole number of milliseconds')
      try {
        // The server's rule for notes, applied here too: refused before gigabytes are sent.
        const notes = parseReleaseNotes(options.notesFile === undefined ? (options.notes ?? null) : await readText(options.notesFile, 'notes file'))
        const caPem = options.caFile === undefined ? null : await readText(options.caFile, 'CA file')
        if (caPem !== null && !caPem.includes('-----BEGIN CERTIFICATE-----')) throw new AirstripError('bad-request', `${options.caFile} holds no PEM certificate`)

        // Loaded before inspect on purpose: on Node 24.21, X509Certificate#toLegacyObject() (used by
        // inspect) loads node:tls's internals in an order that leaves tls.connect broken for the
        // rest of the process unless node:tls was loaded first.
        const { uploadBuild, DEFAULT_RETRY_POLICY } = await import('../delivery/upload-client.ts')
        // Refuse what the server would refuse, before sending gigabytes (metadata only, no hash).
        const { inspectIpa } = await import('../ipa/inspect.ts')
        const { info } = await inspectIpa(file, { sha256: null })
        output.stderr.write(`${info.name} ${info.version ?? '?'} (${info.build ?? '?'}) · ${info.bundleId} · ${info.profile?.kind ?? 'unsigned'} · ${formatBytes(info.size)}\n`)
        for (const problem of info.problems.filter((p) => p.severity === 'error')) output.stderr.write(`  problem: ${problem.code}: ${problem.message}\n`)

        const reporter = await createReporter(output)
        const result = await uploadBuild(
          { serverUrl, token, caPem },
          { file, notes, notify: options.notify === true },
          reporter,
          { ...DEFAULT_RETRY_POLICY, retries, initialDelayMs: retryDelay },
        ).finally(() => reporter.stop())
        const body = result.body
        // A retry whose earlier attempt the server had stored (its answer was lost) gets that build back, not a second one.
        if (result.replayed) output.stderr.write(`already uploaded by an earlier attempt: build ${String(body['id'])} (the server returned that build; no second one was made)\n`)
        else output.stderr.write(`uploaded: build ${String(body['id'])}\n`)
        if (options.json) output.stdout.write(`${JSON.stringify(result.replayed ? { ...body, replayed: true } : body, null, 2)}\n`)
        else output.stdout.write(`${String(body['installPageUrl'])}\n`)
      } catch (error) {
        if (!isAirstripError(error)) throw error
        output.stderr.write(`airstrip: ${error.code}: ${error.message}\n`)
        const answer = error.details?.['body']
        if (options.json && answer && typeof answer === 'object') output.stdout.write(`${JSON.stringify(answer, null, 2)}\n`)
        setExitCode(error.code === 'upload-failed' ? 1 : 2)
      }
    })
}

function wholeNumber(text: string | undefined, fallback: number, max: number): number | null {
  if (text === undefined) return fallback
  return /^\d+$/.test(text) && Number(text) <= max ? Number(text) : null
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    throw new AirstripError('file-not-found', `cannot read the ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`)
  }
}

/** A progress bar with rate and ETA on a terminal; plain lines at each 10 % otherwise (CI logs). */
async function createReporter(output: Output): Promise<UploadListener & { stop(): void }> {
  const { progressSnapshot, createLineSchedule } = await import('../delivery/upload-progress.ts')
  const stream = output.stderr as Output['stderr'] & Partial<NodeJS.WriteStream>
  const tty = stream.isTTY === true
  let startedAt = performance.now()
  let due = createLineSchedule()
  let bar: import('cli-progress').SingleBar | null = null
  const { SingleBar, Presets } = tty ? await import('cli-progress') : { SingleBar: null, Presets: null }

  return {
    attemptStarted(attempt, size) {
      startedAt = performance.now()
      due = createLineSchedule()
      if (SingleBar && Presets) {
        bar = new SingleBar(
          { stream: stream as NodeJS.WriteStream, format: 'uploading {bar} {percentage}% | {sentLabel} of {totalLabel} | {rate} | ETA {etaLabel}', hideCursor: true, clearOnComplete: false },
          Presets.shades_classic,
        )
        bar.start(size, 0, { sentLabel: formatBytes(0), totalLabel: formatBytes(size), rate: '—', etaLabel: '—' })
      } else {
        output.stderr.write(`uploading ${formatBytes(size)}${attempt > 1 ? ` (attempt ${attempt})` : ''}\n`)
      }
    },
    progress(sent, size) {
      const snapshot = progressSnapshot(sent, size, performance.now() - startedAt)
      if (bar) bar.update(sent, { sentLabel: formatBytes(sent), totalLabel: formatBytes(size), rate: rateLabel(snapshot), etaLabel: etaLabel(snapshot) })
      else if (due(snapshot, performance.now())) output.stderr.write(`${formatProgressLine(snapshot)}\n`)
    },
    retrying({ attempt, delayMs, reason }) {
      bar?.stop()
      bar = null
      output.stderr.write(`attempt ${attempt} failed: ${reason}; retrying in ${(delayMs / 1000).toFixed(1)} s\n`)
    },
    stop() {
      bar?.stop()
      bar = null
    },
  }
}

/** "  40%  8.0 MiB of 20.0 MiB  112.4 MiB/s  ETA 0:02" */
export function formatProgressLine(snapshot: ProgressSnapshot): string {
  const eta = snapshot.percent === 100 ? 'sent' : `ETA ${etaLabel(snapshot)}`
  return `${String(snapshot.percent).padStart(5)}%  ${formatBytes(snapshot.sent)} of ${formatBytes(snapshot.total)}  ${rateLabel(snapshot)}  ${eta}`
}

function rateLabel(snapshot: ProgressSnapshot): string {
  return snapshot.bytesPerSecond === null ? '—' : `${formatBytes(Math.round(snapshot.bytesPerSecond))}/s`
}

/** 75 s → "1:15", 3725 s → "1:02:05". */
function etaLabel(snapshot: ProgressSnapshot): string {
  if (snapshot.etaSeconds === null) return '—'
  const total = Math.ceil(snapshot.etaSeconds)
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = String(total % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`
}
