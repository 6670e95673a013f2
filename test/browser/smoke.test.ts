import fs from 'node:fs/promises'
import t from 'tap'
import { browserTest, cspViolations, screenshot, startBrowserTestApp } from '../helpers/browser.js'

// The harness's own check: a real Chromium reaches a listening app and renders its login page.
// Only what survives the coming sign-in form is asserted (status, a heading, a clean console).
browserTest(t, 'Chromium opens the organization login page: 200, a visible heading, a screenshot, no CSP errors', async (t, { page, console }) => {
  const { issuer } = await startBrowserTestApp(t)

  const res = await page.goto(`${issuer}/login`)
  t.equal(res?.status(), 200, 'the login page of an existing organization answers 200')
  const heading = page.getByRole('heading').first()
  await heading.waitFor({ state: 'visible' })
  t.ok(await heading.isVisible(), 'a heading is visible')
  t.match(await heading.textContent(), /\S/, 'the heading has text')

  const file = await screenshot(page, 'login-smoke')
  t.comment(`screenshot: ${file}`)
  const png = await fs.readFile(file)
  t.same([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'the screenshot is a PNG')

  t.same(cspViolations(console), [], 'the page loads nothing its own Content-Security-Policy refuses')

  // Proves the check above can fail: a cross-origin image is outside any CSP this page would set,
  // and Chromium must report the refusal on the console, where cspViolations looks.
  const reported = page.waitForEvent('console', { predicate: (m) => cspViolations([{ type: m.type(), text: m.text() }]).length > 0, timeout: 5_000 })
  await page.evaluate("document.body.append(Object.assign(document.createElement('img'), { src: 'http://csp-probe.invalid/probe.png' }))")
  await reported
  t.not(cspViolations(console).length, 0, 'a CSP refusal is reported on the console and counted')
})
