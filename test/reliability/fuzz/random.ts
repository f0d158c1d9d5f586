/**
 * A small seeded PRNG (mulberry32): every fuzz run is reproducible from its seed, so a failure in
 * CI can be replayed exactly with `scripts/fuzz.ts --seed <n>`.
 */
export interface Random {
  /** A float in [0, 1). */
  next(): number
  /** An integer in [0, n). */
  int(n: number): number
  /** An integer in [min, max]. */
  between(min: number, max: number): number
  pick<T>(items: readonly T[]): T
  chance(p: number): boolean
  bytes(n: number): Buffer
}

export function createRandom(seed: number): Random {
  let state = seed >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number): number => (n <= 0 ? 0 : Math.floor(next() * n))
  return {
    next,
    int,
    between: (min, max) => min + int(max - min + 1),
    pick: (items) => {
      if (items.length === 0) throw new Error('pick from an empty list')
      return items[int(items.length)]!
    },
    chance: (p) => next() < p,
    bytes: (n) => {
      const out = Buffer.alloc(n)
      for (let i = 0; i < n; i++) out[i] = int(256)
      return out
    },
  }
}

/** Derives the seed of one iteration from the run's seed, so any iteration can be regenerated alone. */
export function iterationSeed(runSeed: number, iteration: number): number {
  let h = (runSeed ^ Math.imul(iteration + 1, 0x9e3779b1)) >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0
  return (h ^ (h >>> 16)) >>> 0
}
