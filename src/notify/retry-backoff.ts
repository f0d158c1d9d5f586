/**
 * How long to wait before attempt `attempt + 1`, after `attempt` failed (1-based): exponential
 * (base · 2^(attempt−1), capped at `maxMs`) with "equal jitter" — half fixed, half random — so
 * deliveries that failed together (a mail server restart) do not retry in lockstep, yet never
 * retry sooner than half the nominal delay.
 *
 * @example retryDelayMs(3, { baseMs: 30_000, maxMs: 3_600_000 }) // 60–120 s
 */
export function retryDelayMs(attempt: number, policy: { baseMs: number; maxMs: number }, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 40)
  const nominal = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent)
  return Math.round(nominal / 2 + (random() * nominal) / 2)
}
