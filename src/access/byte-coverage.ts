/**
 * Which bytes of a download have been sent, as sorted, disjoint, non-adjacent [start, end)
 * intervals. iOS's installer may fetch an .ipa in one request, resume it with a Range after a
 * drop, or (other clients) fetch pieces in any order: a download is complete when the pieces
 * together cover every byte, however they overlap.
 */
export type ByteIntervals = ReadonlyArray<readonly [number, number]>

/** Separate pieces tracked at most; a piece beyond that is not counted (so never a false "complete"). */
export const MAX_INTERVALS = 256

/** `intervals` with [start, end) added and merged with what it overlaps or touches. */
export function addInterval(intervals: ByteIntervals, start: number, end: number): Array<[number, number]> {
  if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end)) || start < 0 || end <= start) return intervals.map(([a, b]) => [a, b])
  const merged: Array<[number, number]> = []
  let current: [number, number] = [start, end]
  let placed = false
  for (const [a, b] of intervals) {
    if (b < current[0]) merged.push([a, b])
    else if (a > current[1]) {
      if (!placed) {
        merged.push(current)
        placed = true
      }
      merged.push([a, b])
    } else current = [Math.min(a, current[0]), Math.max(b, current[1])]
  }
  if (!placed) merged.push(current)
  merged.sort((x, y) => x[0] - y[0])
  return merged.length > MAX_INTERVALS ? intervals.map(([a, b]) => [a, b]) : merged
}

/** How many distinct bytes the intervals cover. */
export function coveredBytes(intervals: ByteIntervals): number {
  return intervals.reduce((sum, [a, b]) => sum + (b - a), 0)
}

/** True when every byte of a `size`-byte file has been sent. */
export function coversWhole(intervals: ByteIntervals, size: number): boolean {
  const [first] = intervals
  return size > 0 && intervals.length === 1 && first !== undefined && first[0] <= 0 && first[1] >= size
}

/** Reads stored intervals back, dropping anything malformed (the column is ours, but be strict). */
export function parseIntervals(json: string): Array<[number, number]> {
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch {
    return []
  }
  if (!Array.isArray(value)) return []
  let result: Array<[number, number]> = []
  for (const item of value) {
    if (Array.isArray(item) && item.length === 2 && Number.isSafeInteger(item[0]) && Number.isSafeInteger(item[1])) result = addInterval(result, item[0], item[1])
  }
  return result
}
