// The OpenAPI response check (openapi-check.ts) for responses that no test app's hook sees: those of
// a server the test runs as a child process (src/server.ts, the replayed image, instances behind
// HAProxy). The test fetches through `checkedFetch`, which checks what arrived against openapi.yaml
// in the mode of OPENAPI_RESPONSE_CHECK, as openapi-hook.ts does for the in-process apps: in strict
// mode a mismatch is thrown from the call, so the test that sent the request fails there.
//
// Why the check is made here, in the test process, and not by a hook loaded into the child (an
// environment variable that makes src/server.ts import openapi-hook.ts and log a marker the parent
// then asserts absent):
// - It checks what the test received, on the wire: through HAProxy, after Node's HTTP serialization,
//   not what fastify meant to send. A proxy's own answer in place of the API's is seen, not missed.
// - A mismatch fails at the request that caused it, in the test that sent it. A marker in a child's
//   log fails only if every test remembers to scan for it, after the child has written it: a child
//   killed with SIGKILL (haproxy-failover.test.ts kills one) may never have flushed it.
// - The process under test runs as in production, with no test code in it: build-replay.test.ts runs
//   the Dockerfile's CMD on dist/ with production dependencies only, where the hook could not load.
// What it costs: the wire does not say which route answered. The route is found by matching the
// path against the document's path templates (matchRoute), so a path the document lacks is an
// undocumented operation, never the "no route matched" exemption, which only the hook can tell.
import { documentChecker, type ResponseChecker, type SeenResponse } from './openapi-check.js'
import { checkMode, reportMismatches, ResponseMismatchError, type CheckMode } from './openapi-hook.js'

/** How `checkedFetch` checks: the mode, the document, and the responses that are not the API's. */
export interface CheckedFetchOptions {
  /** Default: OPENAPI_RESPONSE_CHECK's. */
  mode?: CheckMode
  /** Default: the committed openapi.yaml's. */
  checker?: ResponseChecker
  /** Report mode's file; default: openapi-hook.ts's. */
  reportFile?: string
  /**
   * Tells a response that is not the API's (a proxy's own error page) from the API's: the reason
   * when it is not, else undefined. Such a response is not checked against the document; its reason
   * is kept (`notTheApi(res)`) so that the test can count it and hold it to what the proxy logged.
   */
  notTheApi?: (r: SeenResponse) => string | undefined
}

/** Why a response `checkedFetch` returned was left unchecked, as its `notTheApi` said; undefined for a checked one. */
const foreign = new WeakMap<Response, string>()
export const notTheApi = (res: Response): string | undefined => foreign.get(res)

/**
 * `fetch`, with the response checked against openapi.yaml before it is returned (its body is read
 * from a clone, so the caller reads the response as usual). A request that gets no response (refused,
 * reset, aborted) throws as `fetch` does. In strict mode a mismatch throws ResponseMismatchError.
 */
export async function checkedFetch (url: string | URL, init: RequestInit = {}, options: CheckedFetchOptions = {}): Promise<Response> {
  const res = await fetch(url, init)
  const mode = options.mode ?? checkMode()
  if (mode === 'off') return res
  const checker = options.checker ?? documentChecker()
  const method = (init.method ?? 'GET').toUpperCase()
  const where = new URL(url).pathname
  const body = Buffer.from(await res.clone().arrayBuffer())
  const seen: SeenResponse = {
    method,
    route: checker.routeOf(method, where) ?? where,
    path: where,
    status: res.status,
    headers: Object.fromEntries(res.headers),
    body
  }
  const reason = options.notTheApi?.(seen)
  if (reason !== undefined) {
    foreign.set(res, reason)
    return res
  }
  const result = checker.check(seen)
  if (result.exempt !== undefined || result.mismatches.length === 0) return res
  if (mode === 'report') {
    reportMismatches(result.mismatches, options.reportFile)
    return res
  }
  throw new ResponseMismatchError(result.mismatches, where)
}

/** For a test that loads through `checkedFetch`: a mismatch is thrown, not a failed request to count (load.ts keeps them apart). */
export const isMismatch = (err: unknown): err is ResponseMismatchError => err instanceof ResponseMismatchError
