// Every response a test app sends, through `inject` or over HTTP, goes through openapi-check.ts.
// OPENAPI_RESPONSE_CHECK says what a mismatch does:
// - `strict`: it fails the test. Through `app.inject`, the call throws, so the test that made the
//   request errors with a message naming the method, the path, the status and ajv's finding; over
//   HTTP (an app that listens), the file's tap root records a failure with the same message.
// - `report`: it is appended to .tap/openapi-mismatches.jsonl (one JSON object a line: the test file,
//   the method, the operation, the status, the kind and the finding), and nothing fails;
//   `tsx scripts/openapi-mismatches.ts` groups them.
// - `off`: nothing is checked.
// The hook belongs to the test helpers (buildAppForTest adds it), never to the product.
import fs from 'node:fs'
import path from 'node:path'
import type { FastifyInstance, FastifyReply, FastifyRequest, LightMyRequestResponse } from 'fastify'
import t from 'tap'
import { describeMismatch, documentChecker, MISMATCH_FILE, type Mismatch, type ResponseChecker } from './openapi-check.js'

export type CheckMode = 'strict' | 'report' | 'off'

/** A response off the document fails the test that caused it; `report` collects them instead (a change to the document under way). */
export const DEFAULT_MODE: CheckMode = 'strict'

/** The mode from OPENAPI_RESPONSE_CHECK; anything else than the three words stops the test process. */
export function checkMode (value = process.env.OPENAPI_RESPONSE_CHECK): CheckMode {
  if (value === undefined || value === '') return DEFAULT_MODE
  if (value === 'strict' || value === 'report' || value === 'off') return value
  throw new Error(`OPENAPI_RESPONSE_CHECK must be strict, report or off, not ${JSON.stringify(value)}`)
}

/** What a mismatch thrown from `inject` carries, for a test that wants to look. */
export class ResponseMismatchError extends Error {
  constructor (readonly mismatches: Mismatch[], where: string) {
    super(mismatches.map((m) => describeMismatch(m, where)).join('\n'))
    this.name = 'ResponseMismatchError'
  }
}

const testFile = path.relative(path.resolve(import.meta.dirname, '..', '..'), process.argv[1] ?? '')

/** The mismatches of injected responses, until the `inject` call that made them returns; keyed by light-my-request's response. */
const pending = new WeakMap<object, { mismatches: Mismatch[], where: string }>()

/** The time spent checking in this process, for the overhead measure (OPENAPI_RESPONSE_CHECK_STATS=1 prints it at exit). */
const stats = { responses: 0, exempt: 0, ns: 0n, loadNs: 0n }
if (process.env.OPENAPI_RESPONSE_CHECK_STATS) {
  process.on('exit', () => {
    const ms = (ns: bigint): string => (Number(ns) / 1e6).toFixed(1)
    process.stderr.write(`openapi response check: ${stats.responses} responses (${stats.exempt} exempt) checked in ${ms(stats.ns)} ms, openapi.yaml read in ${ms(stats.loadNs)} ms (${testFile})\n`)
  })
}

/** How an app's responses are checked: the mode, against which document, and where report mode writes. */
export interface WatchOptions {
  mode?: CheckMode
  /** Default: the committed openapi.yaml's (documentChecker). */
  checker?: ResponseChecker
  /** Default: MISMATCH_FILE. */
  reportFile?: string
  /** Strict mode, a response not sent through `inject` (over HTTP): default, a failure of the file's tap root. */
  fail?: (message: string) => void
}

/** Report mode: the mismatches appended to `reportFile`, one JSON line each, naming this test file. */
export function reportMismatches (mismatches: readonly Mismatch[], reportFile = MISMATCH_FILE): void {
  fs.mkdirSync(path.dirname(reportFile), { recursive: true })
  fs.appendFileSync(reportFile, mismatches.map((m) => JSON.stringify({ file: testFile, ...m }) + '\n').join(''))
}

function checkReply (request: FastifyRequest, reply: FastifyReply, payload: unknown, opts: Required<WatchOptions> & { testRoutes: Set<string> }): void {
  const started = process.hrtime.bigint()
  const where = request.url.split('?')[0]!
  const status = reply.statusCode
  const headers = reply.getHeaders()
  // What goes on the wire: a 1xx, 204 or 304 carries no content (RFC 9110 §15.3.5, §15.4.5), so fastify
  // drops the payload (`send(null)` serializes to "null") and its content-type after the onSend hooks.
  const bodiless = status < 200 || status === 204 || status === 304
  if (bodiless) delete headers['content-type']
  // A stream (a file) is no body the check can read: it is left out, and a schema that wants one says so.
  const body = !bodiless && (typeof payload === 'string' || Buffer.isBuffer(payload)) ? payload : undefined
  const result = opts.checker.check({
    method: request.method,
    route: request.routeOptions.url,
    path: where,
    status,
    headers,
    body,
    notFound: request.is404,
    testRoute: opts.testRoutes.has(`${request.method} ${request.routeOptions.url}`)
  })
  stats.responses++
  stats.ns += process.hrtime.bigint() - started
  if (result.exempt !== undefined) stats.exempt++
  if (result.exempt !== undefined || result.mismatches.length === 0) return
  if (opts.mode === 'report') {
    reportMismatches(result.mismatches, opts.reportFile)
  } else if ('_lightMyRequest' in request.raw) {
    pending.set(reply.raw, { mismatches: result.mismatches, where })
  } else {
    opts.fail(new ResponseMismatchError(result.mismatches, where).message)
  }
}

/**
 * Checks every response `app` sends against openapi.yaml, in the mode of OPENAPI_RESPONSE_CHECK:
 * an `onSend` hook added last (after the app's own, so the headers are final but for the
 * content-length) sees each one, and in strict mode `app.inject` throws the mismatches of its
 * response.
 */
export function watchResponses (app: FastifyInstance, options: WatchOptions = {}): void {
  const mode = options.mode ?? checkMode()
  if (mode === 'off') return
  // The document is read when the first app is built, not when the first response is sent.
  const loading = process.hrtime.bigint()
  const opts = {
    mode,
    checker: options.checker ?? documentChecker(),
    reportFile: options.reportFile ?? MISMATCH_FILE,
    fail: options.fail ?? ((message: string) => { t.fail(message) }),
    // Routes that come after this point are the test's own: the product's were all added by buildApp.
    testRoutes: new Set<string>()
  }
  app.addHook('onRoute', (route) => {
    for (const m of [route.method].flat()) opts.testRoutes.add(`${m} ${route.url}`)
  })
  stats.loadNs += process.hrtime.bigint() - loading
  app.addHook('onSend', async (request, reply, payload) => {
    try {
      checkReply(request, reply, payload, opts)
    } catch (err) {
      // A fault of the check itself (a schema ajv cannot compile...) is no fault of the response, but must not pass unseen.
      opts.fail(`the OpenAPI response check failed on ${request.method} ${request.url.split('?')[0]!}: ${(err as Error).message}`)
    }
    return payload
  })
  if (mode !== 'strict') return
  const inject = app.inject.bind(app) as (...args: unknown[]) => unknown
  app.inject = ((...args: unknown[]) => {
    // The chained form (no options) and the callback form are left as they are: the suite uses neither.
    if (args.length !== 1 || args[0] === undefined) return inject(...args)
    return (inject(args[0]) as Promise<LightMyRequestResponse>).then((res) => {
      const found = pending.get(res.raw.res)
      if (found) throw new ResponseMismatchError(found.mismatches, found.where)
      return res
    })
  }) as FastifyInstance['inject']
}
