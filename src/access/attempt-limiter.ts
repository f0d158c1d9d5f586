/**
 * Counts failures per key (a password scope and a client address) in a sliding window, to slow
 * password guessing. In memory, per instance: several instances each allow `max`, which still
 * bounds guessing to a few tries a minute. The map is bounded: past `maxKeys`, the oldest entries go.
 */
export interface AttemptLimiter {
  /** Seconds to wait before the next try is accepted, or 0 when it may go ahead. */
  retryAfter(key: string): number
  /** Records a wrong answer. */
  fail(key: string): void
  /** Forgets the key (after a right answer). */
  reset(key: string): void
}

export function createAttemptLimiter(options: { max: number; windowMs: number; now: () => Date; maxKeys?: number }): AttemptLimiter {
  const failures = new Map<string, number[]>()
  const maxKeys = options.maxKeys ?? 10_000
  const recent = (key: string): number[] => {
    const since = options.now().getTime() - options.windowMs
    const times = (failures.get(key) ?? []).filter((time) => time > since)
    if (times.length === 0) failures.delete(key)
    else failures.set(key, times)
    return times
  }
  return {
    retryAfter(key) {
      const times = recent(key)
      if (times.length < options.max) return 0
      const oldest = times[times.length - options.max] as number
      return Math.max(1, Math.ceil((oldest + options.windowMs - options.now().getTime()) / 1000))
    },
    fail(key) {
      const times = recent(key)
      times.push(options.now().getTime())
      failures.delete(key)
      failures.set(key, times.slice(-options.max))
      while (failures.size > maxKeys) failures.delete(failures.keys().next().value as string)
    },
    reset(key) {
      failures.delete(key)
    },
  }
}
