// A steady request load for the fault tests: one request every 1000/perSecond ms, whatever the
// answers take, each recorded with when it was sent and answered.
import { isMismatch } from './checked-fetch.js'
import type { ResponseMismatchError } from './openapi-hook.js'

export interface Sample {
  /** ms since the load began */
  sentAt: number
  doneAt: number
  status: number
  /** The parsed JSON body, when there is one. */
  body?: Record<string, unknown>
  retryAfter?: string | null
  /** The connection error (refused, reset) or the client timeout, instead of a status. */
  error?: string
}

export interface Load {
  /** ms since the load began */
  now: () => number
  /** Requests sent so far (answered or not). */
  sent: () => number
  /**
   * Stops sending, waits for every request in flight, and returns them all in the order sent; throws
   * when a response was off openapi.yaml (`request` fetched through checkedFetch, in strict mode), so
   * that the test running the load fails with the finding rather than count it as a failed request.
   */
  stop: () => Promise<Sample[]>
}

/** Sends `request()` `perSecond` times a second; a request not answered in `timeoutMs` is recorded as `timeout`. */
export function steadyLoad (request: (signal: AbortSignal) => Promise<Response>, perSecond: number, timeoutMs = 10_000): Load {
  const start = performance.now()
  const now = () => performance.now() - start
  const pending: Array<Promise<Sample>> = []
  const mismatches: ResponseMismatchError[] = []
  const send = async (): Promise<Sample> => {
    const sentAt = now()
    try {
      const res = await request(AbortSignal.timeout(timeoutMs))
      const text = await res.text()
      let body: Record<string, unknown> | undefined
      try { body = JSON.parse(text) } catch {}
      return { sentAt, doneAt: now(), status: res.status, body, retryAfter: res.headers.get('retry-after') }
    } catch (err) {
      if (isMismatch(err)) mismatches.push(err)
      const e = err as { name?: string, cause?: { code?: string }, message?: string }
      return { sentAt, doneAt: now(), status: 0, error: e.name === 'TimeoutError' ? 'timeout' : e.cause?.code ?? e.message ?? 'failed' }
    }
  }
  const timer = setInterval(() => { pending.push(send()) }, 1000 / perSecond)
  return {
    now,
    sent: () => pending.length,
    stop: async () => {
      clearInterval(timer)
      const samples = await Promise.all(pending)
      if (mismatches.length > 0) {
        const findings = [...new Set(mismatches.map((m) => m.message))]
        throw new Error(`${mismatches.length} of ${samples.length} responses of the load were off openapi.yaml:\n${findings.slice(0, 5).join('\n')}`)
      }
      return samples
    }
  }
}
