import { main } from '../../src/cli/main.ts'

export interface CliRun {
  code: number
  stdout: string
  stderr: string
}

/**
 * Runs `airstrip <argv>` in-process through the real entry point, with its output captured (not a
 * TTY: plain progress lines). `env` is all the command sees of the environment: none by default.
 */
export async function runCli(argv: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  let stdout = ''
  let stderr = ''
  const code = await main(argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } }, env)
  return { code, stdout, stderr }
}
