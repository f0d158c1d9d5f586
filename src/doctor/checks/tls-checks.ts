import type { Evidence, TlsEvidence } from '../evidence.ts'
import type { CertificateFacts } from '../tls-chain.ts'
import type { CheckDefinition, CheckOutcome } from '../types.ts'
import { fail, pass, skip } from './outcome.ts'

const DAY = 24 * 60 * 60 * 1000
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1'
const ANY_USAGE = '2.5.29.37.0'
/** Apple HT211025: publicly trusted TLS certificates issued from this date on may last at most 398 days. */
const SHORT_LIFETIME_FROM = Date.parse('2020-09-01T00:00:00Z')

const SYMPTOM = 'iOS says "Cannot connect to <host>" when Install is tapped (manifest host), or "Unable to Download App" (.ipa host).'

/**
 * Runs `judge` on every origin whose handshake completed and merges the verdicts: the worst status
 * wins, the messages of the hosts concerned are joined. Origins that could not be reached are left
 * to the *-unreachable checks.
 */
function perOrigin(evidence: Evidence, judge: (entry: TlsEvidence) => CheckOutcome | null, allPass: string): CheckOutcome {
  const reached = evidence.tls.filter((entry) => entry.probe.failure === null)
  if (evidence.tls.length === 0) return skip('no https origin to check')
  if (reached.length === 0) return skip('no TLS handshake completed (see the *-unreachable and tls-old-protocol checks)')
  const findings = reached.map((entry) => ({ entry, outcome: judge(entry) })).filter((f): f is { entry: TlsEvidence; outcome: CheckOutcome } => f.outcome !== null)
  const worst = findings.find((f) => f.outcome.status === 'fail') ?? findings.find((f) => f.outcome.status === 'warn')
  const evidenceByHost = Object.fromEntries(findings.map((f) => [f.entry.probe.origin, { roles: f.entry.roles, ...f.outcome.evidence }]))
  if (!worst) {
    const said = findings.map((f) => `${f.entry.probe.host}: ${f.outcome.message}`)
    return pass(said.length > 0 ? said.join('; ') : allPass.replace('<hosts>', reached.map((e) => e.probe.origin).join(', ')), evidenceByHost)
  }
  const relevant = findings.filter((f) => f.outcome.status === worst.outcome.status)
  const message = relevant.map((f) => `${f.entry.probe.host} (${f.entry.roles.join(' and ')}): ${f.outcome.message}`).join('; ')
  return { status: worst.outcome.status, message, evidence: evidenceByHost, ...(worst.outcome.fix ? { fix: worst.outcome.fix } : {}) }
}

function chainEvidence(path: CertificateFacts[]): Record<string, unknown> {
  return { chain: path.map((c) => ({ subject: c.subject, issuer: c.issuer, notBefore: c.notBefore, notAfter: c.notAfter })) }
}

/** Matrix rows 2 and 36: what makes the installer refuse the server before any HTTP is spoken. */
export const tlsChecks: CheckDefinition[] = [
  {
    id: 'tls-untrusted',
    title: 'the certificate chains to a trusted CA',
    severity: 'error',
    symptom: SYMPTOM,
    fix: 'Use a certificate from a public CA (e.g. Let\'s Encrypt) served with its full chain. With a private CA, every device must install its profile and enable full trust (Settings › General › About › Certificate Trust Settings); give doctor the CA with --ca-file.',
    run: (evidence) =>
      perOrigin(
        evidence,
        ({ probe }) => {
          const verdict = probe.verdict
          const details = chainEvidence(probe.path)
          if (!verdict) return null
          if (verdict.kind === 'self-signed') {
            const alone = probe.path.length === 1
            return { status: 'fail', message: alone ? `the certificate "${verdict.subject}" is self-signed` : `the chain ends at "${verdict.subject}", a CA no device trusts by default`, evidence: details }
          }
          if (verdict.kind === 'unknown-issuer') {
            return { status: 'fail', message: `"${verdict.subject}" is issued by "${verdict.issuer}", which is neither a trusted CA nor sent by the server (a private CA, or a missing intermediate)`, evidence: details }
          }
          if (verdict.kind === 'broken') return { status: 'fail', message: verdict.message, evidence: details }
          if (verdict.anchor === 'private') {
            return { status: 'pass', message: `trusted through --ca-file ("${verdict.anchorSubject}"): each device must install and trust that CA`, evidence: { ...details, anchor: 'ca-file' } }
          }
          return { status: 'pass', message: `chains to "${verdict.anchorSubject}"`, evidence: details }
        },
        'every certificate chains to a trusted CA (<hosts>)',
      ),
  },
  {
    id: 'tls-expired',
    title: 'the certificates are within their validity dates',
    severity: 'error',
    symptom: SYMPTOM,
    fix: 'Renew the certificate (and make sure the server reloads it); automate renewal with ACME.',
    run: (evidence) =>
      perOrigin(
        evidence,
        ({ probe }) => {
          const at = Date.parse(probe.checkedAt)
          const details = chainEvidence(probe.path)
          const expired = probe.path.find((c) => Date.parse(c.notAfter) <= at)
          if (expired) return { status: 'fail', message: `"${expired.subject}" expired on ${expired.notAfter.slice(0, 10)}`, evidence: details }
          const early = probe.path.find((c) => Date.parse(c.notBefore) > at)
          if (early) return { status: 'fail', message: `"${early.subject}" is not valid before ${early.notBefore} (server or device clock wrong?)`, evidence: details }
          const leaf = probe.path[0]
          if (leaf && Date.parse(leaf.notAfter) - at < 14 * DAY) {
            return { status: 'warn', message: `the certificate expires on ${leaf.notAfter.slice(0, 10)}, in less than 14 days`, evidence: details }
          }
          return leaf ? { status: 'pass', message: `valid until ${leaf.notAfter.slice(0, 10)}`, evidence: details } : null
        },
        'every certificate is within its validity dates (<hosts>)',
      ),
  },
  {
    id: 'tls-hostname-mismatch',
    title: 'the certificate names the host',
    severity: 'error',
    symptom: SYMPTOM,
    fix: 'Issue the certificate for the exact host name in the URLs (as a subjectAltName DNS entry), or build the URLs from a name the certificate covers (--public-url).',
    run: (evidence) =>
      perOrigin(
        evidence,
        ({ probe }) => {
          const leaf = probe.path[0]
          const names = { dnsNames: leaf?.dnsNames ?? [], ipAddresses: leaf?.ipAddresses ?? [] }
          if (probe.hostnameError) return { status: 'fail', message: `the certificate does not cover "${probe.host}": ${probe.hostnameError}`, evidence: names }
          return { status: 'pass', message: `covers ${probe.host}`, evidence: names }
        },
        'every certificate covers its host name (<hosts>)',
      ),
  },
  {
    id: 'tls-incomplete-chain',
    title: 'the server sends the intermediate certificates',
    severity: 'error',
    symptom: SYMPTOM,
    fix: 'Configure the server with the full chain (leaf followed by the intermediates), e.g. nginx ssl_certificate fullchain.pem rather than cert.pem.',
    run: (evidence) =>
      perOrigin(
        evidence,
        ({ probe }) => {
          const verdict = probe.verdict
          const details = { ...chainEvidence(probe.path), ...(probe.aia ? { aia: probe.aia } : {}) }
          if (verdict?.kind === 'trusted' && verdict.completedBy) {
            return { status: 'fail', message: `the server does not send the intermediate "${verdict.completedBy}"; doctor found it through the certificate's AIA URL, which iOS does not rely on`, evidence: details }
          }
          if (verdict && verdict.kind !== 'trusted' && probe.aia && probe.aia.outcome.startsWith('downloaded')) {
            return { status: 'fail', message: `the server does not send its intermediate (${probe.aia.outcome} from ${probe.aia.url})`, evidence: details }
          }
          if (verdict?.kind === 'unknown-issuer') {
            return {
              status: 'warn',
              message: `the issuer "${verdict.issuer}" is not sent${probe.aia ? ` and its AIA download failed (${probe.aia.outcome})` : ' and the certificate names no AIA URL'}: either an intermediate is missing or the CA is private`,
              evidence: details,
            }
          }
          return verdict ? { status: 'pass', message: 'the chain is complete', evidence: details } : null
        },
        'the servers send complete chains (<hosts>)',
      ),
  },
  {
    id: 'tls-old-protocol',
    title: 'the server speaks TLS 1.2 or later',
    severity: 'error',
    symptom: SYMPTOM,
    fix: 'Enable TLS 1.2 and 1.3 with forward-secret (ECDHE) ciphers; App Transport Security refuses older protocols.',
    run(evidence) {
      if (evidence.tls.length === 0) return skip('no https origin to check')
      const outcomes = evidence.tls.map(({ probe }) => {
        if (probe.failure?.kind === 'tls') return { probe, outcome: fail(`no TLS handshake is possible, even offering TLS 1.0–1.3: ${probe.failure.message}`) }
        if (probe.failure) return { probe, outcome: null }
        if (probe.protocol && ['SSLv3', 'TLSv1', 'TLSv1.1'].includes(probe.protocol)) {
          return { probe, outcome: fail(`the best protocol the server offers is ${probe.protocol}; iOS requires TLS 1.2 or later`) }
        }
        return { probe, outcome: pass(`${probe.protocol} (${probe.cipher})`) }
      })
      const details = Object.fromEntries(outcomes.map(({ probe }) => [probe.origin, { protocol: probe.protocol, cipher: probe.cipher }]))
      const failed = outcomes.filter((o) => o.outcome?.status === 'fail')
      if (failed.length > 0) return fail(failed.map((o) => `${o.probe.host}: ${o.outcome!.message}`).join('; '), details)
      if (outcomes.every((o) => o.outcome === null)) return skip('no TLS handshake completed (see the *-unreachable checks)')
      return pass(outcomes.filter((o) => o.outcome).map((o) => `${o.probe.host}: ${o.outcome!.message}`).join('; '), details)
    },
  },
  {
    id: 'tls-certificate-policy',
    title: "the certificate meets Apple's rules for TLS server certificates",
    severity: 'error',
    symptom: SYMPTOM,
    fix: 'Issue a certificate with the host in subjectAltName, extendedKeyUsage serverAuth, an RSA key of 2048 bits or more (or ECDSA P-256+), valid at most 825 days (398 for public CAs since 2020-09-01): Apple HT210176 and HT211025.',
    run: (evidence) =>
      perOrigin(
        evidence,
        ({ probe }) => {
          const leaf = probe.path[0]
          if (!leaf) return null
          const problems: string[] = []
          if (leaf.dnsNames.length === 0 && leaf.ipAddresses.length === 0) problems.push('it has no subjectAltName (iOS 13+ ignores the common name)')
          if (leaf.extendedKeyUsage && !leaf.extendedKeyUsage.includes(SERVER_AUTH) && !leaf.extendedKeyUsage.includes(ANY_USAGE)) problems.push('its extendedKeyUsage lacks serverAuth')
          if (leaf.keyType === 'rsa' && leaf.keyBits !== null && leaf.keyBits < 2048) problems.push(`its RSA key has ${leaf.keyBits} bits (2048 at least)`)
          if (leaf.keyType === 'ec' && leaf.keyBits !== null && leaf.keyBits < 256) problems.push(`its EC key has ${leaf.keyBits} bits (256 at least)`)
          const days = Math.round((Date.parse(leaf.notAfter) - Date.parse(leaf.notBefore)) / DAY)
          const publicCa = probe.verdict?.kind === 'trusted' && probe.verdict.anchor === 'public'
          if (days > 825) problems.push(`it is valid for ${days} days (825 at most)`)
          else if (publicCa && Date.parse(leaf.notBefore) >= SHORT_LIFETIME_FROM && days > 398) problems.push(`it is valid for ${days} days (398 at most for a public CA)`)
          const details = { dnsNames: leaf.dnsNames, ipAddresses: leaf.ipAddresses, extendedKeyUsage: leaf.extendedKeyUsage, key: `${leaf.keyType ?? '?'} ${leaf.keyBits ?? '?'}`, validityDays: days }
          return problems.length > 0 ? { status: 'fail', message: problems.join('; '), evidence: details } : { status: 'pass', message: 'meets the rules', evidence: details }
        },
        "the certificates meet Apple's rules (<hosts>)",
      ),
  },
]
