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
    const app = await createApp(config)
    output.stdout.write(`Airstrip\n${describeConfig(config)}\n`)
    if (config.tls.mode === 'insecure-http') {
      output.stdout.write('WARNING: plain HTTP — iOS refuses to install apps whose manifest is not served over HTTPS.\n')
    }
    if (/^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:|\/|$)/.test(config.publicUrl)) {
      output.stdout.write('Note: the public URL is this machine only; set --public-url to an address your testers\' devices can reach.\n')
    }
    await app.server.listen({ host: config.host, port: config.port })
    const stop = async (signal: string): Promise<void> => {
      app.server.log.info({ signal }, 'shutting down')
      await app.close()
      process.exit(0)
    }
    process.once('SIGINT', () => void stop('SIGINT'))
    process.once('SIGTERM', () => void stop('SIGTERM'))
    // Keep the command pending while the server runs.
    await new Promise<never>(() => {})
  })
}
