import { Command, CommanderError } from 'commander'
import { ConfigError } from '../config.ts'
import { isId } from '../store/new-id.ts'
import { registerInspect } from './inspect.ts'
import { registerServe } from './serve.ts'
import { registerToken } from './token.ts'
import { registerDevices } from './devices.ts'
import { registerGroups } from './groups.ts'
import { registerNotifications } from './notifications.ts'
import { registerTesters } from './testers.ts'
import { registerWebhooks } from './webhooks.ts'
import { registerUpload } from './upload.ts'
import { registerExport } from './export.ts'
import { registerDoctor } from './doctor.ts'
import { registerBackup } from './backup.ts'
import { registerMigrateStore } from './migrate-store.ts'
import { registerAdmin } from './admin.ts'
import { registerChannels } from './channels.ts'
import { registerRetention } from './retention.ts'
import { exitCodeFor, type Output } from './output.ts'

/**
 * The `airstrip` command line. Each command lives in its own file and registers itself; output
 * goes through `Output` so commands can be tested without spawning a process.
 */
export async function main(
  argv: string[],
  output: Output = { stdout: process.stdout, stderr: process.stderr },
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  const program = new Command('airstrip')
    .description('Self-hosted over-the-air distribution for iOS builds')
    .exitOverride()
    .configureOutput({ writeOut: (s) => output.stdout.write(s), writeErr: (s) => output.stderr.write(s) })
  let exitCode = 0
  const setExitCode = (code: number): void => void (exitCode = code)
  registerInspect(program, output, setExitCode)
  registerServe(program, output, env)
  registerToken(program, output, env)
  registerDevices(program, output, env)
  registerTesters(program, output, env)
  registerGroups(program, output, env)
  registerWebhooks(program, output, env)
  registerNotifications(program, output, env)
  registerUpload(program, output, env, setExitCode)
  registerExport(program, output, setExitCode)
  registerDoctor(program, output, setExitCode)
  registerBackup(program, output, env)
  registerMigrateStore(program, output, env)
  registerAdmin(program, output, env)
  registerChannels(program, output, env)
  registerRetention(program, output, env)
  try {
    await program.parseAsync(argv, { from: 'user' })
  } catch (error) {
    if (error instanceof CommanderError) {
      // Ids made before newId() avoided a leading '-' still exist; commander reads them as options.
      const option = /unknown option '(-[^']*)'/.exec(error.message)?.[1]
      if (error.code === 'commander.unknownOption' && option && isId(option)) {
        output.stderr.write(`airstrip: ${option} looks like an id: put ids that start with '-' after '--', e.g. airstrip … -- ${option}\n`)
      }
      return error.exitCode === 0 ? 0 : 64
    }
    output.stderr.write(`airstrip: ${describeError(error)}\n`)
    return error instanceof ConfigError ? 64 : exitCodeFor(error)
  }
  return exitCode
}

function describeError(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string' && error instanceof Error) {
    return `${error.code}: ${error.message}`
  }
  return error instanceof Error ? error.message : String(error)
}
