import fs from 'node:fs'
import path from 'node:path'
import rootTap, { type Test } from 'tap'
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core'
import { issuerFor } from '../../src/oauth/tokens.js'
import { buildTestApp, newOrg, type TestApp, type TestOrg } from './app.js'
import { freePort, ROOT } from './process.js'

/** Where Debian's `chromium` package puts the browser; CHROMIUM_PATH overrides it. */
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium'

/** The folder screenshots land in (ignored by git), under the repository root. */
export const SCREENSHOT_DIR = path.join(ROOT, 'test-output', 'screenshots')

/** The browser binary the tests launch: CHROMIUM_PATH when set and not empty, else /usr/bin/chromium. */
export function chromiumPath (): string {
  return process.env.CHROMIUM_PATH || DEFAULT_CHROMIUM_PATH
}

/**
 * True when a missing browser must fail the tests rather than skip them (REQUIRE_BROWSER=1, which
 * .ci/run sets), so CI cannot go green by silently not running them.
 */
export function browserRequired (): boolean {
  return process.env.REQUIRE_BROWSER === '1' || process.env.REQUIRE_BROWSER === 'true'
}

/** Why browser tests cannot run on this machine, or undefined when they can. */
export function browserUnavailable (): string | undefined {
  const bin = chromiumPath()
  try {
    if (!fs.statSync(bin).isFile()) throw new Error('not a file')
    fs.accessSync(bin, fs.constants.X_OK)
    return undefined
  } catch {
    return process.env.CHROMIUM_PATH
      ? `CHROMIUM_PATH=${bin} is not an executable file`
      : `no browser at ${DEFAULT_CHROMIUM_PATH} (install the Debian package chromium, or set CHROMIUM_PATH)`
  }
}

let shared: Promise<Browser> | undefined

/**
 * The file's one Chromium, launched on first use and closed when the file's tests end: a launch
 * costs about a second, a context a few milliseconds, so tests share the process and not the context.
 */
export async function sharedBrowser (): Promise<Browser> {
  if (!shared) {
    shared = chromium.launch({
      executablePath: chromiumPath(),
      headless: true,
      // No sandbox: CI runs as root in a container, where Chromium's sandbox cannot start. The rest
      // keeps the browser from reaching out to Google's services during a test run.
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
    })
    const launched = shared
    rootTap.teardown(async () => { await (await launched.catch(() => undefined))?.close() })
  }
  return await shared
}

/** A console message or an uncaught page error, as a page reported it. */
export interface ConsoleEntry {
  /** Playwright's console type (`error`, `warning`, `log`, ...), or `pageerror` for an uncaught exception. */
  type: string
  text: string
}

/**
 * Records every console message and uncaught error of `page` into the returned array (which keeps
 * filling as the page runs). withBrowser does this for its page; call it for pages opened later.
 */
export function watchConsole (page: Page): ConsoleEntry[] {
  const entries: ConsoleEntry[] = []
  page.on('console', (msg) => { entries.push({ type: msg.type(), text: msg.text() }) })
  page.on('pageerror', (err) => { entries.push({ type: 'pageerror', text: String(err) }) })
  return entries
}

/** The entries that report a Content-Security-Policy violation (Chromium logs them as console errors). */
export function cspViolations (entries: readonly ConsoleEntry[]): string[] {
  return entries.filter((e) => e.type === 'error' && /Content[- ]Security[- ]Policy/i.test(e.text)).map((e) => e.text)
}

/** What a browser test gets: the shared browser, its own context (own cookies), and a page in it. */
export interface BrowserSession {
  browser: Browser
  context: BrowserContext
  page: Page
  /** The page's console messages and uncaught errors so far (see watchConsole). */
  console: ConsoleEntry[]
}

/**
 * Runs `fn` with a fresh browser context and page, closed when the test `t` ends, so cookies and
 * storage never leak from one test to the next. Without a browser: with REQUIRE_BROWSER=1 the test
 * fails with the reason; otherwise it is reported skipped with the reason (`t.plan(0, reason)`: so
 * keep the whole test body, assertions included, inside fn). Answers fn's result, or undefined when
 * fn did not run.
 * On a failing test, a screenshot `failed-<file>-<test name>` is saved and its path commented.
 */
export async function withBrowser<R> (t: Test, fn: (session: BrowserSession) => Promise<R>, contextOptions: BrowserContextOptions = {}): Promise<R | undefined> {
  const reason = browserUnavailable()
  if (reason) {
    if (browserRequired()) t.fail(`browser required (REQUIRE_BROWSER=1) but unavailable: ${reason}`)
    else t.plan(0, reason)
    return undefined
  }
  const browser = await sharedBrowser()
  const context = await browser.newContext(contextOptions)
  // Playwright's 30 s default would leave a broken page hanging long after the cause is visible.
  context.setDefaultTimeout(15_000)
  const page = await context.newPage()
  const session: BrowserSession = { browser, context, page, console: watchConsole(page) }
  t.teardown(async () => {
    if (!t.passing() && !page.isClosed()) {
      // fullname is "test/browser/x.test.ts > TAP > test > subtest": the file and the test path name the shot.
      const name = t.fullname.replace(/^(?:.*\/)?([^/]*?)(?:\.test)?\.[cm]?[jt]s > TAP > /, '$1-')
      const file = await screenshot(page, 'failed-' + name).catch(() => undefined)
      if (file) t.comment(`screenshot of the failing page: ${file}`)
    }
    await context.close()
  })
  return await fn(session)
}

/**
 * Declares a browser test: `t.test(name, ...)` that runs `fn` through withBrowser. Without a
 * browser the test is skipped with the reason ({ skip: reason }), or fails under REQUIRE_BROWSER=1.
 */
export async function browserTest (t: Test, name: string, fn: (t: Test, session: BrowserSession) => Promise<void>, contextOptions: BrowserContextOptions = {}): Promise<void> {
  const reason = browserUnavailable()
  const skip = reason && !browserRequired() ? reason : false
  await t.test(name, { skip }, async (t) => { await withBrowser(t, async (session) => { await fn(t, session) }, contextOptions) })
}

/**
 * Saves a full-page PNG of `page` as test-output/screenshots/<name>.png (folders created; characters
 * other than letters, digits, `.`, `_` and `-` in `name` become `-`) and answers its absolute path.
 */
export async function screenshot (page: Page, name: string): Promise<string> {
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '').slice(0, 120) || 'screenshot'
  const file = path.join(SCREENSHOT_DIR, `${safe}.png`)
  await fs.promises.mkdir(SCREENSHOT_DIR, { recursive: true })
  await page.screenshot({ path: file, fullPage: true })
  return file
}

/** A listening app for a browser, with an organization in it. */
export interface BrowserTestApp extends TestApp {
  /** `http://127.0.0.1:<port>`, which is also the app's PUBLIC_URL. */
  baseUrl: string
  port: number
  org: TestOrg
  /** The organization's OAuth base, `<baseUrl>/api/v1/oauth2/<org>` (its login page is `<issuer>/login`). */
  issuer: string
}

/**
 * Builds the app on this file's database (buildTestApp), listens on 127.0.0.1 on a free port with
 * PUBLIC_URL set to that address (so redirects and issuers point where the browser can go), and
 * makes an organization (newOrg). `env` overrides config variables. Closed when `t` ends.
 */
export async function startBrowserTestApp (t: Test, env: Record<string, string> = {}): Promise<BrowserTestApp> {
  // The config must know its own URL before the app exists, so the port is picked first rather
  // than listening on 0; freePort's window between close and listen is the same as server.test.ts's.
  const port = await freePort()
  const baseUrl = `http://127.0.0.1:${port}`
  const ta = await buildTestApp(t, { PUBLIC_URL: baseUrl, ...env })
  await ta.app.listen({ port, host: '127.0.0.1' })
  const org = await newOrg(ta)
  return { ...ta, baseUrl, port, org, issuer: issuerFor(ta.config.publicUrl, org.orgName) }
}
