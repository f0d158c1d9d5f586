/**
 * The attacker's checklist of issue 9, item by item: what each test attempts, and what is still
 * not covered (and why). Tests name their item by id (`[path-traversal] …`); the report script
 * renders this table into docs/reliability.md with the counts the tests recorded. The issue-7
 * items (sessions, login, forms, grants) are attacked in attacker-access.test.ts.
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
    status: 'tested',
    scope: 'signed links: forged, tampered payload and MAC, purpose swapped (manifest ↔ .ipa ↔ icon ↔ enrolment), expired (410) against the server clock; API tokens: tampered, revoked then replayed; enrolment invites revoked then replayed; session cookies replayed after sign-out (see sessions) and personal links replayed after revocation (see access-revocation)',
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
    status: 'tested',
    scope: 'app name, release notes, file name, device name, tester name, with script/handler/attribute-breaking payloads, on the app list, app page, install page (with the device cookie), enrolment page and result page: escaped in the HTML and inert in headless Chromium; on the admin pages (app list, app, build with Markdown notes, channel, testers), over HTTP: shown escaped, no tag carries an event handler, a javascript: URL or a script without the nonce, and the CSP has a script nonce and no \'unsafe-inline\'',
  },
  {
    id: 'csrf',
    attack: 'CSRF on every form',
    status: 'tested',
    scope: "admin POSTs (API token, tester, user, app access, revoke a personal link, delete a build, change password, sign out) with no token, an empty, random or altered one, another session's token (field or X-CSRF-Token header), the session id, two tokens, a JSON or text/plain body: 403, nothing changed; the same paths as GET change nothing; the sign-in form's double-submit token missing or mismatched: 403, no session. The password gate's form refuses a foreign Origin (test/access/password.test.ts)",
  },
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
    scope: "hundreds of guessed API tokens and signed links all fail (256-bit secrets, constant-time compares) and the real token keeps working; sign-in: 429 after 10 failures for an account (even with the right password, whatever the address's case), other accounts unaffected, and 429 for every account after 30 failures from one address (a client's X-Forwarded-For / X-Real-IP not trusted), open again after the window; the password gate: 429 with Retry-After after a few wrong passwords, on the app's and the build's form alike",
    pending: 'no rate limit on API-token or signed-link failures exists (guessing 256-bit secrets is hopeless, but each failure costs a lookup)',
  },
  {
    id: 'secrets',
    attack: 'Secrets never in logs or error pages',
    status: 'tested',
    scope: 'the API token, signed links, the webhook secret, the SMTP password, the SMS credentials and the URL-signing key never appear in the logs (info level) or in any error body; error bodies carry no stack traces or paths',
  },
  {
    id: 'sessions',
    attack: 'Session fixation, theft and expiry',
    status: 'tested',
    scope: "session and form cookies are __Host-, HttpOnly, Secure, SameSite (Lax / Strict), 256 random bits, never in a URL, only hashed in the database; a planted made-up id is replaced at sign-in and signs nobody in; a planted real session (the attacker's) is not upgraded to the victim; a new id at every sign-in; after sign-out the cookie is cleared and the old id is refused by pages (303 to login) and forms (401); a deleted user's session ends at once; idle (12 h) and absolute (7 days, however busy) expiry against the server's clock",
  },
  {
    id: 'access-revocation',
    attack: 'Access used after revocation (tester removed, grant revoked)',
    status: 'tested',
    scope: "an invite-only channel's personal link revoked in the admin UI: its page, the build page under it, the manifest, the .ipa and the icon refused at once (GET, HEAD, Range; no bytes, no fresh link), another tester's link untouched; revoking again is 404; a tester removed: their links refused at once. A new app password stops what the old one minted (test/access/password.test.ts)",
  },
]
