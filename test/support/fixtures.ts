import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url))

/** Path of a committed fixture: test/fixtures/<folder>/<name> (provenance in each folder's MANIFEST.md). */
export function fixture(folder: string, name: string): string {
  return join(FIXTURES, folder, name)
}

/** A fresh temporary directory, removed when the test (or suite) ends. */
export function tempDir(t: { after(fn: () => void): void }, prefix = 'airstrip-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}
