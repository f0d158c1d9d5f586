import { X509Certificate } from 'node:crypto'
import { hostname } from 'node:os'
import { isUsableCa, isUsableServer, type DevCertificates } from './dev-certificates.ts'
import { normalizeHosts, type TlsHost } from './hosts.ts'
import type { CertificatePair } from './swappable-tls.ts'

/**
 * Where instances sharing a database keep the development CA ('ca') and server certificate
 * ('server'): src/store/tls-records.ts. `read` returns only a chain and key that belong together.
 */
export interface DevCertificateRecords {
  read(name: 'ca' | 'server'): Promise<CertificatePair | null>
  /** False when another instance stored one first. */
  insertIfAbsent(name: 'ca' | 'server', pair: CertificatePair): Promise<boolean>
  /** False when another instance replaced `expectedCertPem` first. */
  replace(name: 'ca' | 'server', expectedCertPem: string, pair: CertificatePair): Promise<boolean>
}

/**
 * `ensureDevCertificates` for instances behind one load balancer: the same development CA on every
 * instance (a device trusts one CA, whichever instance answers), kept in the database instead of
 * the data dir, under the same rules — reused while current, the server certificate alone reissued
 * when its hosts change or it nears expiry, everything regenerated when the CA nears expiry.
 * Instances starting together race with insert-if-absent / compare-and-swap: the first one's
 * certificates win and every other uses them. An instance whose host list differs from the stored
 * server certificate's (another public URL) serves its own one, issued by the shared CA, without
 * replacing the stored one back and forth.
 */
export async function ensureSharedDevCertificates(records: DevCertificateRecords, hosts: string[], now = new Date()): Promise<DevCertificates> {
  const wanted = normalizeHosts(hosts)
  const factory = (): Promise<typeof import('./certificate-factory.ts')> => import('./certificate-factory.ts')

  let storedCa = await records.read('ca')
  let ca = storedCa && usableCa(storedCa, now) ? storedCa : null
  let caCreated = false
  if (ca === null) {
    // CN is limited to 64 characters; the machine name only tells devices' owners which CA this is.
    const generated = await (await factory()).generateCa(`Airstrip Development CA (${hostname().slice(0, 38)})`, now)
    caCreated = storedCa ? await records.replace('ca', storedCa.certPem, generated) : await records.insertIfAbsent('ca', generated)
    storedCa = caCreated ? generated : await records.read('ca')
    ca = storedCa && usableCa(storedCa, now) ? storedCa : null
    if (ca === null) throw new Error('the development CA in the database is not usable and could not be replaced')
  }

  const storedServer = await records.read('server')
  let server = storedServer && usableServer(storedServer, ca, wanted, now) ? storedServer : null
  let serverCreated = false
  if (server === null) {
    const issued = await (await factory()).issueServerCertificate(ca, wanted, now)
    const stored = storedServer ? await records.replace('server', storedServer.certPem, issued) : await records.insertIfAbsent('server', issued)
    const theirs = stored ? null : await records.read('server')
    server = theirs && usableServer(theirs, ca, wanted, now) ? theirs : issued
    serverCreated = server === issued
  }

  return {
    caCertPem: ca.certPem,
    caCertDer: Buffer.from(new X509Certificate(ca.certPem).raw),
    certPem: server.certPem,
    keyPem: server.keyPem,
    created: caCreated || serverCreated,
    caCreated,
  }
}

function usableCa(pair: CertificatePair, now: Date): boolean {
  try {
    return isUsableCa(new X509Certificate(pair.certPem), now)
  } catch {
    return false
  }
}

function usableServer(pair: CertificatePair, ca: CertificatePair, wanted: readonly TlsHost[], now: Date): boolean {
  try {
    return isUsableServer(new X509Certificate(pair.certPem), new X509Certificate(ca.certPem), wanted, now)
  } catch {
    return false
  }
}
