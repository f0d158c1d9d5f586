/** Who is looking at the install page, as far as the User-Agent tells. */
export const CLIENT_KINDS = ['ios-safari', 'ios-other-browser', 'ios-in-app', 'ipados-desktop-mode', 'android', 'desktop'] as const
export type ClientKind = (typeof CLIENT_KINDS)[number]

export interface DetectedClient {
  kind: ClientKind
  /** "17.4.1"; null when the UA does not say (or says something known to be frozen). */
  iosVersion: string | null
  /** The app whose built-in browser this is ("Slack", "WeChat"…), for 'ios-in-app'; else null. */
  inAppName: string | null
}

/**
 * The JavaScript test the install page runs for 'ipados-desktop-mode': true on an iPad (touch
 * screen), false on a Mac. iPadOS 13+ Safari sends a Mac User-Agent, so only the page can tell.
 */
export const IPAD_TOUCH_TEST = 'navigator.maxTouchPoints > 1'

/**
 * App tokens of in-app browsers, most specific first. Their webviews ignore itms-services links.
 * Apps that open links in SFSafariViewController (Slack on iOS does) send Safari's own UA and
 * cannot be told apart; their "Open in Safari" button is one tap away.
 */
const IN_APP: ReadonlyArray<readonly [RegExp, string]> = [
  [/FBAN\/MessengerForiOS|FBAN\/Messenger/, 'Messenger'],
  [/\bFBAN\/|\bFBAV\/|\bFBIOS\b|\bFB_IAB\b/, 'Facebook'],
  [/\bInstagram\b/, 'Instagram'],
  [/\bwxwork\//i, 'WeCom'],
  [/\bMicroMessenger\//i, 'WeChat'],
  [/\bDingTalk\b/i, 'DingTalk'],
  [/\b(?:Lark|Feishu)\//i, 'Lark'],
  [/\bLinkedInApp\b/, 'LinkedIn'],
  [/\bLine\//, 'LINE'],
  [/\bTelegram/i, 'Telegram'],
  [/\bTwitter\b/i, 'X (Twitter)'],
  [/\bSlack(?:\/|_SSB\b)/, 'Slack'],
  [/\bGmail/i, 'Gmail'],
  [/\bGSA\//, 'Google'],
  [/\bTeamsMobile|\bTeams\//, 'Microsoft Teams'],
  [/\bSnapchat\b/i, 'Snapchat'],
  [/\b(?:TikTok|musical_ly|BytedanceWebview)\b/i, 'TikTok'],
  [/\bPinterest\b/i, 'Pinterest'],
  [/\bKAKAOTALK\b/i, 'KakaoTalk'],
  [/\bWeibo\b/i, 'Weibo'],
  [/\bQQ\//, 'QQ'],
  [/\bDiscord\b/i, 'Discord'],
  [/\bWhatsApp\b/i, 'WhatsApp'],
]

/** iOS browsers other than Safari: they cannot hand itms-services links to the installer. */
const OTHER_BROWSER = /\b(?:CriOS|FxiOS|EdgiOS|OPiOS|OPT|YaBrowser|Ddg|DuckDuckGo|Brave|UCBrowser|Focus)\//

/**
 * Classifies a User-Agent for the install page. Only Safari on iOS opens itms-services links:
 * Chrome/Firefox/Edge on iOS (CriOS/FxiOS/EdgiOS) and the webviews of Facebook, Gmail, WeChat… do
 * nothing, so the page tells those users to open the link in Safari.
 *
 * iPadOS 13+ Safari defaults to "desktop website" and sends a Mac Safari User-Agent
 * ("Macintosh … Version/x Safari/…"), indistinguishable server-side from a Mac. Mac Safari UAs are
 * therefore reported as 'ipados-desktop-mode': the page shows the install button when
 * `IPAD_TOUCH_TEST` (navigator.maxTouchPoints > 1) holds, and the QR code otherwise.
 *
 * Since iOS 26, Safari freezes the OS token at "18_6"/"18_7" and reports the real version only in
 * "Version/26.x"; the larger of the two is used, and a bare 18.6+ OS token with no Version token
 * (webviews, Chrome) is reported as unknown rather than guessed.
 */
export function detectClient(userAgent: string | undefined): DetectedClient {
  const ua = (userAgent ?? '').slice(0, 1024)
  if (/\bAndroid\b/i.test(ua)) return { kind: 'android', iosVersion: null, inAppName: null }

  const isIos = /\((?:iPhone|iPad|iPod)(?:[;)]| touch)/.test(ua) && /like Mac OS X/.test(ua)
  const isMac = !isIos && /\(Macintosh;/.test(ua)
  if (!isIos && !isMac) return { kind: 'desktop', iosVersion: null, inAppName: null }

  if (isMac) {
    // Mobile-only browser tokens inside a Mac UA: an iPad in desktop mode, in another browser.
    if (OTHER_BROWSER.test(ua)) return { kind: 'ios-other-browser', iosVersion: null, inAppName: null }
    const safari = /\bVersion\/[\d.]+.*\bSafari\//.test(ua) && !/\b(?:Chrome|Chromium|Edg|OPR|Firefox)\//.test(ua)
    return { kind: safari ? 'ipados-desktop-mode' : 'desktop', iosVersion: null, inAppName: null }
  }

  const iosVersion = readIosVersion(ua)
  const app = IN_APP.find(([pattern]) => pattern.test(ua))
  if (app) return { kind: 'ios-in-app', iosVersion, inAppName: app[1] }
  if (OTHER_BROWSER.test(ua)) return { kind: 'ios-other-browser', iosVersion, inAppName: null }
  // A WKWebView embedded in an app sends no "Safari/" token (unless the app adds one).
  if (!/\bSafari\//.test(ua)) return { kind: 'ios-in-app', iosVersion, inAppName: null }
  if (!/\bVersion\//.test(ua)) return { kind: 'ios-other-browser', iosVersion, inAppName: null }
  return { kind: 'ios-safari', iosVersion, inAppName: null }
}

function readIosVersion(ua: string): string | null {
  const os = /\bOS (\d+)_(\d+)(?:_(\d+))? like Mac OS X/.exec(ua)
  const osVersion = os ? [os[1], os[2], os[3]].filter((part) => part !== undefined).join('.') : null
  const safari = /\bVersion\/(\d+(?:\.\d+){0,2})\b/.exec(ua)?.[1] ?? null
  if (safari && (!osVersion || majorOf(safari) > majorOf(osVersion))) return safari
  if (osVersion && majorOf(osVersion) === 18 && minorOf(osVersion) >= 6 && !safari) return null
  return osVersion
}

function majorOf(version: string): number {
  return Number(version.split('.')[0])
}

function minorOf(version: string): number {
  return Number(version.split('.')[1] ?? 0)
}
