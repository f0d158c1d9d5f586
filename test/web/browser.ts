// Headless Chromium for the page tests: one browser per test file, visitors as real user agents.
import { existsSync } from 'node:fs'
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core'

const CHROMIUM = '/usr/bin/chromium'

/** `skip` option for Chromium tests: CI installs Debian's `chromium`; without it they are skipped. */
export const NO_CHROMIUM: string | false = existsSync(CHROMIUM) ? false : `Chromium is not installed at ${CHROMIUM} (apt-get install chromium); browser tests skipped`

/** A fixed clock for the server: the bitbar fixture's profile and certificate are valid then. */
export const NOW = new Date('2026-03-02T10:00:00Z')

export const UA = {
  iphone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.3 Mobile/15E148 Safari/604.1',
  desktopChrome: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  instagram:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 331.0.2.24.82 (iPhone15,3; iOS 17_5; en_US; en; scale=3.00; 1290x2796; 602462453)',
  /** iPadOS Safari's default "desktop website" mode: a Mac UA. */
  macSafari: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.3 Safari/605.1.15',
} as const

export const IPHONE: BrowserContextOptions = { userAgent: UA.iphone, viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true }
export const DESKTOP: BrowserContextOptions = { userAgent: UA.desktopChrome, viewport: { width: 1280, height: 800 } }

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
}

/** A page opened in a fresh context, with everything it did recorded. */
export interface Visit {
  page: Page
  status: number
  headers: Record<string, string>
  requests: string[]
  console: string[]
  dialogs: string[]
  close(): Promise<void>
}

/**
 * Opens `url` as the given visitor (the server's dev CA is not trusted by Chromium: errors ignored).
 * `maxTouchPoints` emulates a multi-touch screen as an iPad reports it (Playwright's hasTouch gives 1).
 */
export async function visit(browser: Browser, url: string, options: BrowserContextOptions & { maxTouchPoints?: number }): Promise<Visit> {
  const { maxTouchPoints, ...contextOptions } = options
  const context = await browser.newContext({ ...contextOptions, ignoreHTTPSErrors: true })
  const page = await context.newPage()
  if (maxTouchPoints) await (await context.newCDPSession(page)).send('Emulation.setTouchEmulationEnabled', { enabled: true, maxTouchPoints })
  const requests: string[] = []
  const messages: string[] = []
  const dialogs: string[] = []
  page.on('request', (request) => void requests.push(request.url()))
  page.on('console', (message) => void messages.push(`${message.type()}: ${message.text()}`))
  page.on('pageerror', (error) => void messages.push(`pageerror: ${error.message}`))
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message())
    void dialog.dismiss()
  })
  const response = await page.goto(url, { waitUntil: 'load' })
  if (!response) throw new Error(`no response for ${url}`)
  return { page, status: response.status(), headers: response.headers(), requests, console: messages, dialogs, close: () => context.close() }
}
