import { after } from 'node:test'

/**
 * A `t` for set-up shared by every test of a file (or of the `describe` block it is called in):
 * what is registered with its `after` is undone, last first, once all those tests are done.
 * (`t.after` of a `before` hook's context would run at that hook's end.)
 */
export function suiteScope(): { after(fn: () => unknown): void } {
  const cleanups: Array<() => unknown> = []
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
  })
  return { after: (fn) => void cleanups.push(fn) }
}
