// A hand-rolled static deployment on Debian's nginx with its stock mime.types: what doctor says of
// the typical CI-script setup, and that nginx's own two-line fix silences it.
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { it } from 'node:test'
import { inspectIpa } from '../../src/ipa/inspect.ts'
import { fixture, tempDir } from '../support/fixtures.ts'
import { freePort } from '../support/server.ts'
import { chainPem, makePki } from './support/certificates.ts'
import { doctor, pemFile, pngIcon } from './support/deployment.ts'
import { main } from '../../src/cli/main.ts'

const NGINX = '/usr/sbin/nginx'
const IPA = fixture('ipa', 'bitbar-sample-latest-iOS.ipa')
const NOW = '2026-06-01T00:00:00Z'

/** nginx in the foreground as one process, on a loopback port, everything under `prefix`. */
async function startNginx(t: { after(fn: () => unknown): void }, prefix: string, body: string): Promise<number> {
  const port = await freePort()
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((name) => `${name}_temp_path ${join(prefix, name)};`).join(' ')
  const conf = join(prefix, 'nginx.conf')
  writeFileSync(
    conf,
    `daemon off;
master_process off;
pid ${join(prefix, 'nginx.pid')};
error_log ${join(prefix, 'error.log')} warn;
events { worker_connections 64; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  sendfile on;
  ${temp}
  server {
    listen 127.0.0.1:${port} ssl;
    server_name localhost;
    ssl_certificate ${join(prefix, 'fullchain.pem')};
    ssl_certificate_key ${join(prefix, 'key.pem')};
    root ${join(prefix, 'www')};
${body}
  }
}
`,
  )
  const child: ChildProcess = spawn(NGINX, ['-p', prefix, '-c', conf, '-e', join(prefix, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => void (stderr += chunk))
  t.after(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  )
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${stderr}`)
    if (await accepts(port)) return port
    if (attempt > 100) throw new Error(`nginx did not listen on ${port}: ${stderr}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/** What a CI script typically writes: a manifest from a template, a page with the link, the .ipa and an icon. */
function handMadeDeployment(www: string, folder: string, base: string, info: { bundleId: string; version: string; name: string }): string {
  const dir = join(www, folder)
  mkdirSync(dir, { recursive: true })
  copyFileSync(IPA, join(dir, 'App.ipa'))
  writeFileSync(join(dir, 'icon.png'), pngIcon())
  writeFileSync(
    join(dir, 'manifest.plist'),
    `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>items</key>
  <array>
    <dict>
      <key>assets</key>
      <array>
        <dict><key>kind</key><string>software-package</string><key>url</key><string>${base}/${folder}/App.ipa</string></dict>
        <dict><key>kind</key><string>display-image</string><key>url</key><string>${base}/${folder}/icon.png</string></dict>
      </array>
      <key>metadata</key>
      <dict>
        <key>bundle-identifier</key><string>${info.bundleId}</string>
        <key>bundle-version</key><string>${info.version}</string>
        <key>kind</key><string>software</string>
        <key>title</key><string>${info.name}</string>
      </dict>
    </dict>
  </array>
</dict>
</plist>
`,
  )
  const link = `itms-services://?action=download-manifest&amp;url=${encodeURIComponent(`${base}/${folder}/manifest.plist`)}`
  writeFileSync(join(dir, 'index.html'), `<!DOCTYPE html>\n<html><head><meta name="viewport" content="width=device-width"><title>${info.name}</title></head>\n<body><h1>${info.name} ${info.version}</h1><a href="${link}">Install</a></body></html>\n`)
  return `${base}/${folder}/index.html`
}

it('doctor against Debian nginx serving a hand-made static deployment', { skip: !existsSync(NGINX) && 'Debian nginx is not installed (.ci/run installs it)' }, async (t) => {
  const prefix = tempDir(t, 'airstrip-doctor-nginx-')
  const pki = await makePki()
  writeFileSync(join(prefix, 'fullchain.pem'), chainPem(pki.leaf, pki.intermediate))
  writeFileSync(join(prefix, 'key.pem'), pki.leaf.keyPem)
  const { info } = await inspectIpa(IPA, { sha256: null })
  const port = await startNginx(
    t,
    prefix,
    // The fix for what doctor reports below, in one folder only: XML manifests that are never cached.
    '    location /fixed/ { types { text/xml plist; application/octet-stream ipa; image/png png; text/html html; } add_header Cache-Control no-store; }',
  )
  const base = `https://localhost:${port}`
  const appInfo = { bundleId: info.bundleId, version: info.version ?? '1.0', name: info.name }
  const page = handMadeDeployment(join(prefix, 'www'), 'builds', base, appInfo)
  const fixed = handMadeDeployment(join(prefix, 'www'), 'fixed', base, appInfo)
  const ca = pemFile(t, pki.root.certPem)
  const udid = info.profile!.provisionedDevices[0]!

  const run = await doctor(page, '--ca-file', ca, '--now', NOW, '--udid', udid, '--ios', '17.5')
  const notPassing = Object.fromEntries(run.checks.filter((c) => c.status !== 'pass').map((c) => [c.id, c.status]))
  // Stock mime.types has no .plist: nginx falls back to application/octet-stream; and a static file is cacheable.
  assert.deepEqual(notPassing, { 'manifest-content-type': 'warn', 'manifest-cacheable': 'warn', 'public-url-mismatch': 'skip' })
  assert.match(run.check('manifest-content-type').message, /application\/octet-stream/)
  assert.match(run.check('manifest-cacheable').message, /ETag/)
  assert.match(run.check('ipa-no-range').message, /^206/)
  assert.match(run.check('ipa-corrupt').message, /Range requests/)
  assert.equal(run.code, 0, 'warnings only')

  const after = await doctor(fixed, '--ca-file', ca, '--now', NOW, '--udid', udid, '--ios', '17.5')
  assert.deepEqual(after.checks.filter((c) => c.status !== 'pass').map((c) => c.id), ['public-url-mismatch'])

  // The human report names the device symptom and the fix under each warning.
  let human = ''
  const code = await main(['doctor', page, '--ca-file', ca, '--now', NOW], { stdout: { write: (s: string) => (human += s) }, stderr: { write: () => {} } })
  assert.equal(code, 0)
  if (process.env['SHOW_DOCTOR']) console.log(human)
  assert.match(human, /^! manifest-content-type +it is served as application\/octet-stream, not text\/xml or application\/xml$/m)
  assert.match(human, /^ +fix: Serve \.plist manifests as text\/xml/m)
  assert.match(human, /^✓ ipa-corrupt /m)
  assert.match(human, /^- device-not-provisioned +skipped: pass --udid/m)
  assert.match(human, /33 passed, 0 failed, 2 warnings, 3 skipped/)
})
