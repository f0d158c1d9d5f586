import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { AirstripError } from '../errors.ts'
import type { Output } from './output.ts'

interface DoctorFlags {
  udid?: string
  ios?: string
  caFile: string[]
  json?: boolean
  now?: string
  timeout?: string
  requestTimeout?: string
}

/**
 * `airstrip doctor <target> [--udid] [--ios] [--ca-file] [--json] [--now] [--timeout] [--request-timeout]`:
 * diagnoses an OTA deployment (any: Airstrip's, a static folder, a peer's). Exit 0 when no check
 * fails, 1 when one does, 2 for a usage error or a target that cannot be reached at all.
 * The diagnosis code is imported when the command runs, so other commands do not load it.
 */
export function registerDoctor(program: Command, output: Output, setExitCode: (code: number) => void): void {
  program
    .command('doctor')
    .description('diagnose an OTA deployment the way iOS would fail it: link, TLS, manifest, .ipa, signing')
    .argument('<target>', 'install page URL, itms-services:// link, manifest URL, or a local .ipa / .plist')
    .option('--udid <udid>', "check this device against the build's provisioning profile")
    .option('--ios <version>', "check a device running this iOS version against the app's MinimumOSVersion")
    .option('--ca-file <pem>', 'also trust the CA certificates in this PEM file (repeatable)', (value: string, previous: string[]) => [...previous, value], [])
    .option('--json', 'print { target, checks } as JSON')
    .option('--now <date>', "judge the build's profile and certificate at this ISO 8601 date")
    .option('--timeout <seconds>', 'limit for the whole diagnosis (default 60)')
    .option('--request-timeout <seconds>', 'limit for one request (default 15)')
    // Usage errors exit 2 like an unreachable target (main maps AirstripErrors to 2); main prints the one line.
    .configureOutput({ outputError: () => {} })
    .exitOverride((error) => {
      if (error.exitCode === 0) throw error
      throw new AirstripError('usage-error', error.message.replace(/^error: /, ''))
    })
    .action(async (target: string, flags: DoctorFlags) => {
      const now = flags.now === undefined ? new Date() : new Date(flags.now)
      if (Number.isNaN(now.getTime())) throw new AirstripError('usage-error', `--now "${flags.now}" is not an ISO 8601 date`)
      const timeoutMs = seconds(flags.timeout, '--timeout')
      const requestTimeoutMs = seconds(flags.requestTimeout, '--request-timeout')
      const { readPemCertificates } = await import('../doctor/trust-store.ts')
      const caPems: string[] = []
      for (const file of flags.caFile) {
        let text: string
        try {
          text = await readFile(file, 'utf8')
        } catch (error) {
          throw new AirstripError('usage-error', `--ca-file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
        }
        caPems.push(...readPemCertificates(text, `--ca-file ${file}`))
      }
      const { runDoctor, doctorExitStatus } = await import('../doctor/run-doctor.ts')
      const { formatReport } = await import('../doctor/format-report.ts')
      const report = await runDoctor({ target, udid: flags.udid ?? null, ios: flags.ios ?? null, caPems, now, ...(timeoutMs ? { timeoutMs } : {}), ...(requestTimeoutMs ? { requestTimeoutMs } : {}) })
      output.stdout.write(flags.json ? `${JSON.stringify({ target: report.target, checks: report.checks }, null, 2)}\n` : formatReport(report))
      setExitCode(doctorExitStatus(report))
    })
}

function seconds(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined
  const parsed = Number(value)
  if (!Number.isFinite(parsed) || parsed <= 0 || parsed > 3600) throw new AirstripError('usage-error', `${flag} "${value}" must be a number of seconds between 0 and 3600`)
  return Math.round(parsed * 1000)
}
