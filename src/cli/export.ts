import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { AirstripError, isAirstripError } from '../errors.ts'
import { formatBytes, type Output } from './output.ts'

interface ExportFlags {
  baseUrl: string
  out?: string
  force?: boolean
  now?: string
  check?: boolean
  caFile: string[]
}

/**
 * `airstrip export <file.ipa> --base-url https://host/path/ --out DIR [--force] [--check]`: a
 * static deployment (the .ipa, manifest.plist, icon.png, index.html) for any HTTPS host, no server
 * needed. `--check` runs doctor against the deployment's page once it is online: after writing
 * (when --out is the folder the host serves), or alone (`airstrip export --check --base-url …`)
 * after the files were uploaded. Exit status: 0 written (and no check failed); 1 a check failed;
 * 2 refused (not a usable .ipa, bad base URL, non-empty output) or the page unreachable; 64 usage.
 */
export function registerExport(program: Command, output: Output, setExitCode: (code: number) => void): void {
  program
    .command('export')
    .description('write a static deployment (.ipa, manifest.plist, icon, install page) to host on any HTTPS server, S3 or Pages')
    .argument('[file]', 'the .ipa to export (leave out with --check to check an uploaded deployment)')
    .requiredOption('--base-url <url>', 'the https:// URL the folder is served from, e.g. https://cdn.example.com/builds/1.2/')
    .option('--out <dir>', 'the folder to write (created; must be absent or empty unless --force)')
    .option('--force', 'replace a non-empty output folder')
    .option('--now <date>', "judge expiry at this ISO 8601 date instead of the current time")
    .option('--check', "run doctor against <base-url>index.html (after writing, or alone for a deployment that is online)")
    .option('--ca-file <pem>', 'with --check: also trust the CA certificates in this PEM file (repeatable)', (value: string, previous: string[]) => [...previous, value], [])
    .action(async (file: string | undefined, flags: ExportFlags) => {
      const usage = (message: string): void => {
        output.stderr.write(`airstrip export: ${message}\n`)
        setExitCode(64)
      }
      const now = flags.now === undefined ? new Date() : new Date(flags.now)
      if (Number.isNaN(now.getTime())) return usage(`--now "${flags.now}" is not an ISO 8601 date`)
      if (file !== undefined && flags.out === undefined) return usage('--out <dir> is required')
      if (file === undefined && !flags.check) return usage('give the .ipa to export (or --check to check a deployment that is online)')
      try {
        let pageUrl: string
        if (file === undefined) {
          const { parseBaseUrl } = await import('../delivery/deployment.ts')
          pageUrl = new URL('index.html', parseBaseUrl(flags.baseUrl)).href
        } else {
          pageUrl = await writeDeployment(output, { file, baseUrl: flags.baseUrl, outDir: flags.out ?? '', force: flags.force === true, now })
        }
        if (flags.check) setExitCode(await checkDeployment(output, pageUrl, flags.caFile, now))
      } catch (error) {
        if (!isAirstripError(error)) throw error
        output.stderr.write(`airstrip: ${error.code}: ${error.message}\n`)
        setExitCode(error.code === 'usage-error' ? 64 : 2)
      }
    })
}

/** Writes the deployment, prints what was written and what the host must do; returns the page URL. */
async function writeDeployment(output: Output, options: { file: string; baseUrl: string; outDir: string; force: boolean; now: Date }): Promise<string> {
  const { exportDeployment } = await import('../delivery/static-export.ts')
  const { hostingInstructions } = await import('../delivery/hosting-instructions.ts')
  const result = await exportDeployment({ ipaPath: options.file, baseUrl: options.baseUrl, outDir: options.outDir, force: options.force, now: options.now })
  const { info, plan } = result
  for (const problem of info.problems.filter((p) => p.severity === 'error')) output.stderr.write(`problem: ${problem.code}: ${problem.message}\n`)
  const lines = [`${info.name} ${info.version ?? '?'} (${info.build ?? '?'}) exported to ${result.outDir}:`]
  for (const f of result.files) lines.push(`  ${f.name.padEnd(28)} ${formatBytes(f.size).padStart(10)}  ${f.contentType}`)
  lines.push('', `Install page:  ${plan.pageUrl}`, `Manifest:      ${plan.manifestUrl}`, '')
  output.stdout.write(`${lines.join('\n')}\n${hostingInstructions(plan, options.outDir)}`)
  return plan.pageUrl
}

/** Runs doctor (src/doctor) against the page as a device would reach it; returns its exit status. */
async function checkDeployment(output: Output, pageUrl: string, caFiles: string[], now: Date): Promise<number> {
  const { readPemCertificates } = await import('../doctor/trust-store.ts')
  const caPems: string[] = []
  for (const file of caFiles) {
    const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new AirstripError('usage-error', `--ca-file ${file}: ${error.code ?? error.message}`)
    })
    caPems.push(...readPemCertificates(text, `--ca-file ${file}`))
  }
  const { runDoctor, doctorExitStatus } = await import('../doctor/run-doctor.ts')
  const { formatReport } = await import('../doctor/format-report.ts')
  const report = await runDoctor({ target: pageUrl, caPems, now })
  output.stdout.write(`\n${formatReport(report)}`)
  return doctorExitStatus(report)
}
