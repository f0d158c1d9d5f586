import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core'
import type { TestServer } from './server.ts'

/**
 * Signs in through the admin login form in a fresh browser context (the server's dev CA is not
 * trusted by Chromium: errors ignored), closed when the test ends. The page is left on /admin.
 */
export async function signInToAdmin(
  t: { after(fn: () => unknown): void },
  browser: Browser,
  server: TestServer,
  account: { email: string; password: string },
  options: BrowserContextOptions,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ ...options, ignoreHTTPSErrors: true })
  t.after(() => context.close())
  const page = await context.newPage()
  await page.goto(`${server.url}/admin/login`)
  await page.fill('input[name=email]', account.email)
  await page.fill('input[name=password]', account.password)
  await Promise.all([page.waitForURL(`${server.url}/admin`), page.click('button[type=submit]')])
  return { context, page }
}

/**
 * Clicks `button` of a plain (POST) form and waits for the page it leads to; returns the POST's status.
 * (Waits for the next `load` event: `waitForLoadState` would see the old page, already loaded, while
 * the answer or its redirect is still on its way.)
 */
export async function submitForm(page: Page, button: string): Promise<number> {
  const answer = page.waitForResponse((r) => r.request().method() === 'POST')
  const loaded = page.waitForEvent('load')
  await page.click(button)
  const status = (await answer).status()
  await loaded
  return status
}
