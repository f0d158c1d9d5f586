/** Where an upload stands, for a progress bar or a log line. */
export interface ProgressSnapshot {
  sent: number
  total: number
  /** 0–100, whole numbers (100 only when every byte is sent). */
  percent: number
  /** Average since the attempt started; null until there is something to average. */
  bytesPerSecond: number | null
  /** Seconds left at the average rate; null when unknown. */
  etaSeconds: number | null
}

export function progressSnapshot(sent: number, total: number, elapsedMs: number): ProgressSnapshot {
  const percent = total <= 0 ? 100 : sent >= total ? 100 : Math.min(99, Math.floor((sent / total) * 100))
  const bytesPerSecond = elapsedMs > 0 && sent > 0 ? (sent * 1000) / elapsedMs : null
  const etaSeconds = bytesPerSecond ? Math.max(0, (total - sent) / bytesPerSecond) : null
  return { sent, total, percent, bytesPerSecond, etaSeconds }
}

/**
 * When a log line is due in non-terminal output (CI logs): each time another `stepPercent` of the
 * file is sent, at least every `maxSilenceMs` on a slow link (so the job does not look stuck), and
 * at 100 %. Byte-based steps keep the log short and the same from run to run.
 */
export function createLineSchedule(options: { stepPercent?: number; maxSilenceMs?: number } = {}): (snapshot: ProgressSnapshot, nowMs: number) => boolean {
  const step = options.stepPercent ?? 10
  const maxSilenceMs = options.maxSilenceMs ?? 30_000
  let lastStep = 0
  let lastLineAt: number | null = null
  return (snapshot, nowMs) => {
    lastLineAt ??= nowMs
    const currentStep = Math.floor(snapshot.percent / step)
    const due = snapshot.percent === 100 || currentStep > lastStep || nowMs - lastLineAt >= maxSilenceMs
    if (due) {
      lastStep = currentStep
      lastLineAt = nowMs
    }
    return due
  }
}
