/**
 * The attacker's checklist of issue 9, item by item: what each test attempts, and what is still
 * pending because the feature it attacks is not built yet (issue 7, teams and access: sessions,
 * login, forms, grants). Tests name their item by id (`[path-traversal] …`); the report script
 * renders this table into docs/reliability.md with the counts the tests recorded. When an issue-7
 * feature lands, add its attack to the matching test file and move the item to `tested`.
 */
export interface ChecklistItem {
  id: string
  attack: string
  status: 'tested' | 'partly tested' | 'pending'
  /** What the tests attempt (tested), or what is missing and why (pending). */
  scope: string
  pending?: string
}

export const CHECKLIST: readonly ChecklistItem[] = [
  {
    id: 'path-traversal',
    attack: 'Path traversal in every route parameter and file name',
    status: 'tested',
    scope: 'encoded, double-encoded, backslash and NUL traversal in every route parameter (pages, API, signed links, enrolment, CA), raw `..` paths, upload file names (query and multipart), archive entry names; nothing outside a 4xx or the right build is ever served, and no file is written outside the blob store',
  },
  {
    id: 'token-forgery',
    attack: 'Token forgery, tampering, replay after revocation, expiry',
    status: 'partly tested',
    scope: 'signed links: forged, tampered payload and MAC, purpose swapped (manifest ↔ .ipa ↔ icon ↔ enrolment), expired (410) against the server clock; API tokens: tampered, revoked then replayed; enrolment invites revoked then replayed',
    pending: 'session cookies and access grants (revocation of a tester\'s access): issue 7',
  },
  {
    id: 'cross-app',
    attack: "One app's token used on another app's resources",
    status: 'tested',
    scope: "a build's .ipa link under another build's file name serves only its own build; an upload token bound to one app cannot upload another app or read the API",
  },
  {
    id: 'stored-xss',
    attack: 'Stored XSS through every user-controlled field on every page',
    status: 'partly tested',
    scope: 'app name, release notes, file name, device name, tester name, with script/handler/attribute-breaking payloads, on the app list, app page, install page (with the device cookie), enrolment page and result page: escaped in the HTML and inert in headless Chromium',
    pending: 'admin pages (issue 7) render Markdown release notes: add them to the page list once they land',
  },
  { id: 'csrf', attack: 'CSRF on every form', status: 'pending', scope: '', pending: 'no state-changing form exists yet (the enrolment POST is a CMS-signed device answer on a single-use link); login and admin forms arrive with issue 7' },
  {
    id: 'header-injection',
    attack: 'Header injection through file names (Content-Disposition)',
    status: 'tested',
    scope: 'CR/LF, quotes and semicolons in the upload file name: no injected header on the download, the manifest or the pages; fixed Content-Disposition names only',
  },
  {
    id: 'ssrf',
    attack: 'SSRF through webhook URLs',
    status: 'tested',
    scope: 'loopback, private, link-local (metadata), CGNAT, multicast, unspecified, IPv6 and IPv4-mapped/NAT64 forms, numeric host spellings and non-http schemes refused at registration; a name resolving to loopback is refused at connect time (the receiver sees nothing); allowed with --webhook-allow-private-networks',
  },
  {
    id: 'oversize',
    attack: 'Oversize headers and bodies',
    status: 'tested',
    scope: 'a 20 KiB header (431), a 20 KiB URL, a 2 MiB JSON body (413), an upload above --max-upload-bytes refused before reading (413), a 70 KiB device answer (413)',
  },
  {
    id: 'slow-requests',
    attack: 'Slow uploads (timeouts)',
    status: 'partly tested',
    scope: 'an unauthenticated upload trickling its body is answered 401 at once, without waiting for the body; a client trickling its headers is cut off by the 15 s headers timeout',
    pending: 'an authenticated upload has no body timeout by design (large builds over slow links); a token holder can hold connections open',
  },
  {
    id: 'brute-force',
    attack: 'Brute force on login and token endpoints',
    status: 'partly tested',
    scope: 'hundreds of guessed API tokens and signed links all fail (256-bit secrets, constant-time compares) and the real token keeps working',
    pending: 'rate limits: login (issue 7); no rate limit on API-token or signed-link failures exists yet',
  },
  {
    id: 'secrets',
    attack: 'Secrets never in logs or error pages',
    status: 'tested',
    scope: 'the API token, signed links, the webhook secret, the SMTP password, the SMS credentials and the URL-signing key never appear in the logs (info level) or in any error body; error bodies carry no stack traces or paths',
  },
  { id: 'sessions', attack: 'Session fixation, theft and expiry', status: 'pending', scope: '', pending: 'sessions arrive with issue 7' },
  { id: 'access-revocation', attack: 'Access used after revocation (tester removed, grant revoked)', status: 'pending', scope: '', pending: 'access grants arrive with issue 7' },
]
