import type { Command } from 'commander'
import { SETTINGS, describeConfig, loadConfig, type RawSettings } from '../config.ts'
import type { Output } from './output.ts'

/** Adds every setting of src/config.ts as a flag (flags win over AIRSTRIP_* variables). */
export function addSettingFlags(command: Command, only?: readonly string[]): Command {
  for (const setting of SETTINGS) {
    if (!only || only.includes(setting.key)) command.option(setting.flag, `${setting.help} [${setting.env}]`)
  }
  return command
}

/** `airstrip serve`: what `npm start` runs. */
export function registerServe(program: Command, output: Output, env: Record<string, string | undefined>): void {
  addSettingFlags(program.command('serve').description('run the Airstrip server (HTTPS by default)')).action(async (flags: RawSettings) => {
    const config = loadConfig(flags, env)
    // Loaded on demand: `airstrip inspect` should not pay for the server's start-up.
    const { createApp } = await import('../app.ts')
    const { checkStartup, formatFindings, gatherStartupFacts } = await import('../ops/startup-checks.ts')
    const { shutdownGracefully } = await import('../ops/graceful-shutdown.ts')
    output.stdout.write(`Airstrip\n${describeConfig(config)}\n`)
    const findings = checkStartup(config, await gatherStartupFacts(config, new Date()))
    output.stdout.write(formatFindings(findings))
    if (findings.some((finding) => finding.level === 'error')) throw new Error('start-up checks failed (see above)')
    const app = await createApp(config)
    await app.server.listen({ host: config.host, port: config.port })
    const setupToken = await app.services.accounts.pendingSetupToken()
    if (setupToken) output.stdout.write(`No admin account yet: open ${config.publicUrl}/admin/setup?token=${setupToken} (or run \`airstrip admin create --email …\`)\n`)
    const stop = async (signal: string): Promise<void> => {
      const outcome = await shutdownGracefully({ close: app.close, server: app.server.server, log: app.server.log }, config.shutdownTimeoutSeconds * 1000, signal)
      process.exit(outcome === 'drained' ? 0 : 1)
    }
    process.once('SIGINT', () => void stop('SIGINT'))
    process.once('SIGTERM', () => void stop('SIGTERM'))
    // Keep the command pending while the server runs.
    await new Promise<never>(() => {})
  })
}
