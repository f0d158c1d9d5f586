import { after } from 'node:test'

/**
 * One instance per test file (process) of something slow to start (a database, an object store):
 * started on first use, stopped when the file's tests end.
 */
export function onePerFile<T extends { stop(): Promise<void> }>(start: () => Promise<T>): () => Promise<T> {
  let shared: Promise<T> | null = null
  after(async () => {
    const started = await shared?.catch(() => null)
    await started?.stop()
  })
  return () => (shared ??= start())
}

/** Starts once more, saying why, when the first start fails (`start` must pick new free ports each time). */
export async function retryOnce<T>(start: () => Promise<T>, retrying: string): Promise<T> {
  try {
    return await start()
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${retrying}\n`)
    return start()
  }
}
