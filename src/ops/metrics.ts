import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/** What the metrics read when Prometheus scrapes (each may be slow-ish: called once per scrape). */
export interface MetricsSources {
  /** Apps, builds and enrolled devices in the database. */
  catalogue(): Promise<{ apps: number; builds: number; devices: number }>
  /** Free and total bytes of the data dir's file system, bytes held by blobs and by the database. */
  disk(): Promise<{ freeBytes: number; totalBytes: number; blobBytes: number; databaseBytes: number }>
  /** The certificate in service, if any. */
  certificate(): { notAfter: Date; source: string; issuer: string; renewalFailures: number } | null
}

/**
 * Airstrip's Prometheus metrics, in a registry of its own (several apps can live in one process,
 * as in tests). Request metrics are labelled by route pattern, never by URL, so signed tokens stay
 * out of the label values and the series stay few.
 */
export interface AirstripMetrics {
  registry: Registry
  observeRequest(labels: { method: string; route: string; status: number }, seconds: number, aborted: boolean): void
  addUploadBytes(bytes: number): void
  /** iOS fetched a manifest: an install began. */
  installStarted(): void
  /** The .ipa went out to its last byte: an install's download completed. */
  installCompleted(): void
}

export function createMetrics(sources: MetricsSources): AirstripMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const requests = new Counter({ name: 'airstrip_http_requests_total', help: 'HTTP requests answered, by method, route pattern and status', labelNames: ['method', 'route', 'status'], registers: [registry] })
  const aborted = new Counter({ name: 'airstrip_http_responses_aborted_total', help: 'Responses the client went away from before their last byte', labelNames: ['method', 'route'], registers: [registry] })
  const latency = new Histogram({
    name: 'airstrip_http_request_duration_seconds',
    help: 'Time from request to the last byte of the response, by method and route pattern',
    labelNames: ['method', 'route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
    registers: [registry],
  })
  const uploadBytes = new Counter({ name: 'airstrip_upload_bytes_total', help: 'Bytes received on upload requests (POST /api/v1/builds), accepted or not', registers: [registry] })
  const installsStarted = new Counter({ name: 'airstrip_installs_started_total', help: 'Install manifests served to devices', registers: [registry] })
  const installsCompleted = new Counter({ name: 'airstrip_installs_completed_total', help: '.ipa downloads served to their last byte', registers: [registry] })

  new Gauge({
    name: 'airstrip_builds',
    help: 'Builds stored',
    registers: [registry],
    async collect() {
      this.set((await sources.catalogue()).builds)
    },
  })
  new Gauge({
    name: 'airstrip_apps',
    help: 'Apps (bundle ids) with at least one build',
    registers: [registry],
    async collect() {
      this.set((await sources.catalogue()).apps)
    },
  })
  new Gauge({
    name: 'airstrip_devices',
    help: 'Devices (UDIDs) enrolled',
    registers: [registry],
    async collect() {
      this.set((await sources.catalogue()).devices)
    },
  })
  new Gauge({
    name: 'airstrip_disk_bytes',
    help: 'Disk space: free and total on the data dir\'s file system, used by blobs and by the database',
    labelNames: ['kind'],
    registers: [registry],
    async collect() {
      const disk = await sources.disk()
      this.set({ kind: 'free' }, disk.freeBytes)
      this.set({ kind: 'total' }, disk.totalBytes)
      this.set({ kind: 'blobs' }, disk.blobBytes)
      this.set({ kind: 'database' }, disk.databaseBytes)
    },
  })
  new Gauge({
    name: 'airstrip_tls_certificate_expiry_timestamp_seconds',
    help: 'When the certificate in service expires (Unix time); absent with plain HTTP',
    labelNames: ['source', 'issuer'],
    registers: [registry],
    collect() {
      this.reset()
      const certificate = sources.certificate()
      if (certificate) this.set({ source: certificate.source, issuer: certificate.issuer }, Math.floor(certificate.notAfter.getTime() / 1000))
    },
  })
  new Gauge({
    name: 'airstrip_tls_certificate_renewal_failures',
    help: 'Automatic renewal attempts that failed in a row (0 when the last one succeeded)',
    registers: [registry],
    collect() {
      this.set(sources.certificate()?.renewalFailures ?? 0)
    },
  })

  // Every request lands here: prom-client hashes a label object on each call, so the series of a
  // (method, route, status) are looked up once and kept. Routes are patterns and methods the few
  // Node accepts: the map stays as small as the series themselves.
  const series = new Map<string, { requests: Counter.Internal; latency: Histogram.Internal<string>; aborted: Counter.Internal }>()
  const seriesOf = (method: string, route: string, status: number) => {
    const key = `${method} ${status} ${route}`
    let found = series.get(key)
    if (!found) {
      found = { requests: requests.labels(method, route, String(status)), latency: latency.labels(method, route), aborted: aborted.labels(method, route) }
      series.set(key, found)
    }
    return found
  }

  return {
    registry,
    observeRequest(labels, seconds, wasAborted) {
      const { requests, latency, aborted } = seriesOf(labels.method, labels.route, labels.status)
      requests.inc()
      latency.observe(seconds)
      if (wasAborted) aborted.inc()
    },
    addUploadBytes: (bytes) => uploadBytes.inc(bytes),
    installStarted: () => installsStarted.inc(),
    installCompleted: () => installsCompleted.inc(),
  }
}
