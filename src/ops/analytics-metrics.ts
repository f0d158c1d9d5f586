import { Counter, Gauge, type Registry } from 'prom-client'
import type { WriteBatchStats } from '../store/analytics-batch.ts'

/**
 * The install-analytics queue in the metrics: records written, lost to a failed write, and dropped
 * because the database fell behind (src/store/analytics-batch.ts), and how many wait now. Read
 * from the queue's own counters at each scrape, so the request path pays nothing for them.
 */
export function registerAnalyticsQueueMetrics(registry: Registry, stats: () => WriteBatchStats): void {
  new Counter({
    name: 'airstrip_install_analytics_records_total',
    help: 'Install-analytics records by outcome: written, failed (the write failed; logged) or dropped (the queue was full)',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      const now = stats()
      this.reset()
      this.inc({ outcome: 'written' }, now.written)
      this.inc({ outcome: 'failed' }, now.failed)
      this.inc({ outcome: 'dropped' }, now.dropped)
    },
  })
  new Gauge({
    name: 'airstrip_install_analytics_queued',
    help: 'Install-analytics records waiting to be written',
    registers: [registry],
    collect() {
      this.set(stats().queued)
    },
  })
}
