// User-Agent classification for the install page, on real UA strings (as published by the
// browsers/apps, WebKit's iOS 26 announcement and ua-parser-js's in-app catalogue).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { DetectedClient } from '../../src/ota/client-detection.ts'
import { detectClient } from '../../src/ota/client-detection.ts'

const TABLE: Array<[string, string, DetectedClient]> = [
  // Safari on iOS / iPadOS (mobile mode)
  ['iPhone Safari 17.4.1', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1', { kind: 'ios-safari', iosVersion: '17.4.1', inAppName: null }],
  ['iPad Safari iOS 12.2', 'Mozilla/5.0 (iPad; CPU OS 12_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1 Mobile/15E148 Safari/604.1', { kind: 'ios-safari', iosVersion: '12.2', inAppName: null }],
  ['iPod touch Safari', 'Mozilla/5.0 (iPod touch; CPU iPhone OS 12_5_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1.2 Mobile/15E148 Safari/604.1', { kind: 'ios-safari', iosVersion: '12.5.7', inAppName: null }],
  ['iOS 18.6 Safari', 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Mobile/15E148 Safari/604.1', { kind: 'ios-safari', iosVersion: '18.6', inAppName: null }],
  ['iOS 26 Safari (frozen OS token)', 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.0 Mobile/15E148 Safari/604.1', { kind: 'ios-safari', iosVersion: '26.0', inAppName: null }],
  ['iOS 26.3 Safari (frozen 18_7)', 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.3 Mobile/15E148 Safari/604.1', { kind: 'ios-safari', iosVersion: '26.3', inAppName: null }],
  // Other browsers on iOS
  ['Chrome iOS', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1', { kind: 'ios-other-browser', iosVersion: '17.2', inAppName: null }],
  ['Firefox iOS', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/121.0 Mobile/15E148 Safari/605.1.15', { kind: 'ios-other-browser', iosVersion: '17.2', inAppName: null }],
  ['Edge iOS', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/120.2210.126 Mobile/15E148 Safari/605.1.15', { kind: 'ios-other-browser', iosVersion: '17.2', inAppName: null }],
  ['Chrome iOS, frozen 18_6 without Version', 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/140.0.7339.101 Mobile/15E148 Safari/604.1', { kind: 'ios-other-browser', iosVersion: null, inAppName: null }],
  // In-app browsers
  ['Facebook', 'Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/16.6;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5;FBRV/0]', { kind: 'ios-in-app', iosVersion: '16.6', inAppName: 'Facebook' }],
  ['Messenger', 'Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/MessengerForiOS;FBAV/425.0.0.30.114;FBBV/520000000;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/16.6;FBSS/3]', { kind: 'ios-in-app', iosVersion: '16.6', inAppName: 'Messenger' }],
  ['Instagram', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 311.0.2.18.107 (iPhone14,2; iOS 17_1_2; en_US; en; scale=3.00; 1170x2532; 545986883)', { kind: 'ios-in-app', iosVersion: '17.1.2', inAppName: 'Instagram' }],
  ['WeChat', 'Mozilla/5.0 (iPhone; CPU iPhone OS 16_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.28(0x18001c2c) NetType/WIFI Language/zh_CN', { kind: 'ios-in-app', iosVersion: '16.0', inAppName: 'WeChat' }],
  ['WeCom', 'Mozilla/5.0 (iPhone; CPU iPhone OS 16_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 wxwork/4.1.0 MicroMessenger/7.0.1 Language/zh ColorScheme/Light', { kind: 'ios-in-app', iosVersion: '16.0', inAppName: 'WeCom' }],
  ['DingTalk', 'Mozilla/5.0 (iPhone; CPU iPhone OS 15_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 AliApp(DingTalk/6.5.10) com.laiwang.DingTalk/23462366 Channel/201200 language/zh-Hans-CN UT4Aplus/0.0.6 WK', { kind: 'ios-in-app', iosVersion: '15.4', inAppName: 'DingTalk' }],
  ['LINE', 'Mozilla/5.0 (iPhone; CPU iPhone OS 16_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Safari Line/13.1.0', { kind: 'ios-in-app', iosVersion: '16.3', inAppName: 'LINE' }],
  ['LinkedIn', 'Mozilla/5.0 (iPhone; CPU iPhone OS 16_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [LinkedInApp]/9.27.2817', { kind: 'ios-in-app', iosVersion: '16.5', inAppName: 'LinkedIn' }],
  ['Google app (GSA)', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) GSA/290.0.582775637 Mobile/15E148 Safari/604.1', { kind: 'ios-in-app', iosVersion: '17.1', inAppName: 'Google' }],
  ['Twitter', 'Mozilla/5.0 (iPhone; CPU iPhone OS 15_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Twitter for iPhone/9.28', { kind: 'ios-in-app', iosVersion: '15.5', inAppName: 'X (Twitter)' }],
  ['Teams iPad', 'Mozilla/5.0 (iPad; CPU OS 16_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 TeamsMobile-iOS', { kind: 'ios-in-app', iosVersion: '16.1', inAppName: 'Microsoft Teams' }],
  ['Gmail', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Gmail/6.0.240609', { kind: 'ios-in-app', iosVersion: '17.5', inAppName: 'Gmail' }],
  ['unnamed WKWebView (no Safari token)', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148', { kind: 'ios-in-app', iosVersion: '17.0', inAppName: null }],
  // Mac-looking Safari: an iPad in desktop mode, or a Mac — decided on the page
  ['iPadOS / macOS Safari', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15', { kind: 'ipados-desktop-mode', iosVersion: null, inAppName: null }],
  ['Safari 26 (Mac-looking)', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.0 Safari/605.1.15', { kind: 'ipados-desktop-mode', iosVersion: null, inAppName: null }],
  // Desktop and Android
  ['Mac Chrome', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36', { kind: 'desktop', iosVersion: null, inAppName: null }],
  ['Mac Firefox', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0', { kind: 'desktop', iosVersion: null, inAppName: null }],
  ['Mac Slack (Electron)', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Slack/4.39.90 Chrome/127.0.6533.72 Electron/13.1.9 Safari/537.36', { kind: 'desktop', iosVersion: null, inAppName: null }],
  ['Windows Edge', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0', { kind: 'desktop', iosVersion: null, inAppName: null }],
  ['Linux Firefox', 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0', { kind: 'desktop', iosVersion: null, inAppName: null }],
  ['Android Chrome', 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36', { kind: 'android', iosVersion: null, inAppName: null }],
  ['Android Facebook', 'Mozilla/5.0 (Linux; Android 13; SM-S911B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.66 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/440.0.0.31.105;]', { kind: 'android', iosVersion: null, inAppName: null }],
  // The App Store daemon is not a page visitor, but must not crash anything
  ['appstored', 'com.apple.appstored/1.0 iOS/14.4.2 model/iPhone13,1 hwp/t8101 build/18D70 (6; dt:230) AMS/1', { kind: 'desktop', iosVersion: null, inAppName: null }],
]

for (const [name, ua, expected] of TABLE) {
  test(`detectClient: ${name}`, () => assert.deepEqual(detectClient(ua), expected))
}

test('missing, empty and absurd User-Agents are desktop', () => {
  const desktop = { kind: 'desktop', iosVersion: null, inAppName: null }
  assert.deepEqual(detectClient(undefined), desktop)
  assert.deepEqual(detectClient(''), desktop)
  assert.deepEqual(detectClient('x'.repeat(1_000_000)), desktop)
})
