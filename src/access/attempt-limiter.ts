/**
 * Limits password attempts per key (a password scope, or a scope and a client address) within a
 * time window, to slow password guessing. One interface for the two places counters live: in
 * memory for a single instance (SQLite; `createMemoryAttemptLimiter`), in the shared database for
 * instances behind one load balancer (src/store/password-attempts.ts), so N instances still allow
 * `max` guesses in all, not N × `max`.
 *
 * An attempt is counted before the password is checked and handed back when it was right: checks
 * running at the same moment (argon2 takes a while) cannot slip past the limit together.
 */
export interface AttemptLimiter {
  /** Counts an attempt under `key`: 0 when it may go ahead, else the seconds until one may (this one is refused). */
  attempt(key: string): Promise<number>
  /** The attempt counted last under `key` no longer counts (it was right, or never judged). */
  forgive(key: string): Promise<void>
  /** Forgets every attempt under `key` (a right answer from this client). */
  reset(key: string): Promise<void>
}

/** What a limiter is made from; `name` keeps limiters apart where they share storage. */
export interface AttemptLimiterOptions {
  name: string
  max: number
  windowMs: number
}

/**
 * Failures per key in a sliding window, in memory (synchronous; `createMemoryAttemptLimiter` puts
 * it behind AttemptLimiter). The map is bounded: past `maxKeys`, the oldest entries go.
 */
export interface MemoryAttemptCounter {
  /** Seconds to wait before the next try is accepted, or 0 when it may go ahead. */
  retryAfter(key: string): number
  /** Records a wrong answer. */
  fail(key: string): void
  /** Drops the newest recorded failure. */
  forgive(key: string): void
  /** Forgets the key (after a right answer). */
  reset(key: string): void
}

export function createAttemptLimiter(options: { max: number; windowMs: number; now: () => Date; maxKeys?: number }): MemoryAttemptCounter {
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
    forgive(key) {
      recent(key).pop()
      if (failures.get(key)?.length === 0) failures.delete(key)
    },
    reset(key) {
      failures.delete(key)
    },
  }
}

/** The in-memory counter as an AttemptLimiter: one instance's attempts (each check-and-count is atomic in JS). */
export function createMemoryAttemptLimiter(options: AttemptLimiterOptions & { now: () => Date; maxKeys?: number }): AttemptLimiter {
  const counter = createAttemptLimiter(options)
  return {
    async attempt(key) {
      const wait = counter.retryAfter(key)
      if (wait === 0) counter.fail(key)
      return wait
    },
    forgive: async (key) => counter.forgive(key),
    reset: async (key) => counter.reset(key),
  }
}
