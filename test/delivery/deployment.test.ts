// The pure parts of `airstrip export`: base URL normalisation, file names and URLs, the page for a
// build that cannot install, and the host instructions' quoting.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { deploymentPage, parseBaseUrl, planDeployment } from '../../src/delivery/deployment.ts'
import { hostingInstructions } from '../../src/delivery/hosting-instructions.ts'
import { isAirstripError } from '../../src/errors.ts'
import { inspectIpa } from '../../src/ipa/inspect.ts'
import { fixture, tempDir } from '../support/fixtures.ts'
import { buildIpa } from '../support/ipa-builder.ts'

const BASES: Array<[string, string]> = [
  ['https://cdn.example.com/builds/1.2', 'https://cdn.example.com/builds/1.2/'],
  ['https://cdn.example.com', 'https://cdn.example.com/'],
  ['HTTPS://CDN.Example.COM:443/x/', 'https://cdn.example.com/x/'],
  ['https://cdn.example.com:8443/x/', 'https://cdn.example.com:8443/x/'],
  ['https://cdn.example.com/My App ü/', 'https://cdn.example.com/My%20App%20%C3%BC/'],
  ['https://cdn.example.com/already%20encoded/', 'https://cdn.example.com/already%20encoded/'],
  ['https://cdn.example.com/a|b^c[d]/', 'https://cdn.example.com/a%7Cb%5Ec%5Bd%5D/'],
  ['https://cdn.example.com/100%/', 'https://cdn.example.com/100%25/'],
  ["https://cdn.example.com/it's&more/", "https://cdn.example.com/it's&more/"],
  ['https://bücher.example/ota/', 'https://xn--bcher-kva.example/ota/'],
]

for (const [input, expected] of BASES) {
  test(`base URL ${input} → ${expected}`, () => {
    assert.equal(parseBaseUrl(input), expected)
  })
}

test('base URLs iOS cannot install from, or that would carry secrets, are refused with invalid-base-url', () => {
  for (const bad of ['http://cdn.example.com/', 'ftp://cdn.example.com/', 'https://cdn.example.com/?v=2', 'https://cdn.example.com/x?', 'https://cdn.example.com/#top', 'https://u:p@cdn.example.com/', '/relative/path/', '']) {
    assert.throws(() => parseBaseUrl(bad), (error) => isAirstripError(error, 'invalid-base-url'), bad)
  }
})

test('the plan names files safely and builds every URL under the base, the install link encoding the manifest URL once', async (t) => {
  const dir = tempDir(t)
  const path = `${dir}/app.ipa`
  await buildIpa(path, { info: { CFBundleDisplayName: 'Très Bon App', CFBundleShortVersionString: '1.2 beta' } })
  const { info } = await inspectIpa(path, { sha256: null })
  const base = parseBaseUrl('https://cdn.example.com/My App/')
  const plan = planDeployment(base, info, false)
  assert.equal(plan.files.ipa.name, 'Tres-Bon-App-1.2-beta.ipa')
  assert.equal(plan.ipaUrl, 'https://cdn.example.com/My%20App/Tres-Bon-App-1.2-beta.ipa')
  assert.equal(plan.pageUrl, 'https://cdn.example.com/My%20App/index.html')
  assert.equal(plan.manifestUrl, 'https://cdn.example.com/My%20App/manifest.plist')
  assert.equal(plan.iconUrl, null)
  assert.equal(plan.files.icon, null)
  assert.equal(plan.itmsServicesUrl, 'itms-services://?action=download-manifest&url=https%3A%2F%2Fcdn.example.com%2FMy%2520App%2Fmanifest.plist')
  assert.deepEqual(
    Object.values(plan.files).flatMap((file) => (file ? [[file.name, file.contentType]] : [])),
    [['index.html', 'text/html; charset=utf-8'], ['manifest.plist', 'text/xml'], ['Tres-Bon-App-1.2-beta.ipa', 'application/octet-stream']],
  )

  // An unsigned build: the page says why it cannot install, shows no Install button, only the QR code.
  const html = await deploymentPage(plan, info, { sha256: 'a'.repeat(64), size: info.size, chunkSize: 10 * 1024 * 1024, chunkSha256s: ['a'.repeat(64)] }, new Date('2026-11-26T12:00:00Z'))
  assert.match(html, /<div class="alert err" id="blocked" role="alert">/)
  assert.doesNotMatch(html, /id="install"/)
  assert.match(html, /<div id="qr" class="card qr">/)
  assert.match(html, /<h1>Très Bon App<\/h1>/)
  assert.match(html, /Uploaded on 26 Nov 2026, 12:00 UTC/)
  assert.doesNotMatch(html, /All apps|just now|ago/)
})

test('host instructions quote paths for the shell and nginx', async () => {
  const { info } = await inspectIpa(fixture('ipa', 'lagunitas-Sample.ipa'), { sha256: null })
  const plan = planDeployment(parseBaseUrl("https://cdn.example.com/team's builds/"), info, true)
  const text = hostingInstructions(plan, '/tmp/out dir')
  assert.ok(text.includes(`location "/team's builds/" {`))
  assert.ok(text.includes(`aws s3 cp '/tmp/out dir/manifest.plist' 's3://YOUR-BUCKET/team'\\''s builds/manifest.plist' --content-type text/xml --cache-control no-store`))
  assert.ok(text.includes(`aws s3 cp '/tmp/out dir/icon.png' 's3://YOUR-BUCKET/team'\\''s builds/icon.png' --content-type image/png`))
  assert.ok(text.includes(`curl -sI 'https://cdn.example.com/team'\\''s%20builds/manifest.plist'`))
})
