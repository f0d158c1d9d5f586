// LayoutScanner.keep sees every name of an archive, so it decides the common case without
// regexes: its answers must stay exactly those of the bundle-file patterns.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { LayoutScanner } from '../../src/ipa/bundle-layout.ts'

/** The rule, written as plainly as possible. */
const EXPECTED = [
  /^Payload\/[^/]+\.app\/[^/]+$/,
  /^Payload\/[^/]+\.app\/(?:PlugIns|Extensions)\/[^/]+\.appex\/[^/]+$/,
  /^Payload\/[^/]+\.app\/Watch\/[^/]+\.app\/[^/]+$/,
  /^Payload\/[^/]+\.app\/Watch\/[^/]+\.app\/PlugIns\/[^/]+\.appex\/[^/]+$/,
]

test('keep() answers as the bundle-file patterns do, in any order of names, and records the app folders', () => {
  const names = [
    'Payload/',
    'Payload/App.app/',
    'Payload/App.app/Info.plist',
    'Payload/App.app/Base.lproj/Main.storyboardc/Info.plist',
    'Payload/App.app/PlugIns/',
    'Payload/App.app/PlugIns/Share.appex/',
    'Payload/App.app/PlugIns/Share.appex/Info.plist',
    'Payload/App.app/PlugIns/Share.appex/Sub/Info.plist',
    'Payload/App.app/PlugIns/NotAnAppex/Info.plist',
    'Payload/App.app/Extensions/Widget.appex/embedded.mobileprovision',
    'Payload/App.app/Watch/W.app/Info.plist',
    'Payload/App.app/Watch/W.app/PlugIns/WK.appex/Info.plist',
    'Payload/App.app/Watch/W.app/Frameworks/x',
    'Payload/App.app/WatchKitSupport/x',
    'Payload/App.app/PlugInsX/a.appex/Info.plist',
    'Payload/Other.app/Info.plist',
    'Payload/App.app/AppIcon60x60@2x.png',
    'Payload/.app/Info.plist',
    'Payload/App.application/Info.plist',
    'Payload/App.app.bak/Info.plist',
    'Payload/App.app',
    '__MACOSX/Payload/App.app/Info.plist',
    'Wrapper/Payload/Inner.app/Info.plist',
    'Root.app/Info.plist',
  ]
  // Forwards, backwards and interleaved: the fast path depends on the previous name.
  for (const order of [names, [...names].reverse(), names.flatMap((name, i) => [name, names[(i * 7) % names.length]!])]) {
    const scanner = new LayoutScanner()
    for (const name of order) assert.equal(scanner.keep(name), EXPECTED.some((pattern) => pattern.test(name)), name)
    assert.deepEqual([...scanner.appFolders].sort(), ['Payload/App.app/', 'Payload/Other.app/'])
    assert.equal(scanner.nestedPayload, 'Wrapper/')
    assert.equal(scanner.rootApp, 'Root.app')
  }
})
