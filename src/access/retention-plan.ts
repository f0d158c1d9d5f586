/**
 * Which builds of one channel retention removes. Pure: the runner lists the builds, this decides,
 * the runner deletes (and a dry run only prints the decision).
 */

/** A channel's rule. Both null: keep everything (the default). */
export interface RetentionPolicy {
  /** Keep the newest N builds. */
  keepLast: number | null
  /** Keep builds uploaded less than D days ago. */
  maxAgeDays: number | null
}

export interface RetentionCandidate {
  id: string
  createdAt: string
  /** Marked "keep" by someone: never removed. */
  keep: boolean
}

export type KeptBecause = 'newest' | 'marked-keep' | 'within-last' | 'within-age' | 'no-policy'

export interface RetentionDecision {
  delete: string[]
  keep: Array<{ id: string; because: KeptBecause }>
}

export function hasRetentionPolicy(policy: RetentionPolicy): boolean {
  return policy.keepLast !== null || policy.maxAgeDays !== null
}

/**
 * Keeps a build when any rule keeps it: it is the channel's newest (never deleted, so a channel
 * always has something to install), it is marked "keep", it is among the `keepLast` newest, or it is
 * newer than `maxAgeDays`. With both rules set, "keep the last 5 and everything from the last 30
 * days" — a build goes only when both rules let it go. The rest is deleted.
 *
 * @example planRetention(builds, { keepLast: 3, maxAgeDays: null }, now) // deletes all but the 3 newest (and marked ones)
 */
export function planRetention(builds: ReadonlyArray<RetentionCandidate>, policy: RetentionPolicy, now: Date): RetentionDecision {
  const newestFirst = [...builds].sort((a, b) => (a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1))
  const cutoff = policy.maxAgeDays === null ? null : now.getTime() - policy.maxAgeDays * 24 * 60 * 60 * 1000
  const decision: RetentionDecision = { delete: [], keep: [] }
  newestFirst.forEach((build, index) => {
    const because: KeptBecause | null =
      index === 0 ? 'newest'
      : build.keep ? 'marked-keep'
      : !hasRetentionPolicy(policy) ? 'no-policy'
      : policy.keepLast !== null && index < policy.keepLast ? 'within-last'
      : cutoff !== null && Date.parse(build.createdAt) > cutoff ? 'within-age'
      : null
    if (because) decision.keep.push({ id: build.id, because })
    else decision.delete.push(build.id)
  })
  return decision
}
