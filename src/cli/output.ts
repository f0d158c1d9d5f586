import { AirstripError } from '../errors.ts'

/** Where a command writes: the process's streams in production, buffers in tests. */
export interface Output {
  stdout: { write(text: string): unknown }
  stderr: { write(text: string): unknown }
}

/** Exit status: 2 for input Airstrip refuses (a code from the catalogue), 1 for anything unexpected. */
export function exitCodeFor(error: unknown): number {
  return error instanceof AirstripError ? 2 : 1
}

/** 12345678 → "11.8 MiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`
}
