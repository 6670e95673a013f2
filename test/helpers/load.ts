// A steady request load for the fault tests: one request every 1000/perSecond ms, whatever the
// answers take, each recorded with when it was sent and answered.

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
  /** Stops sending, waits for every request in flight, and returns them all in the order sent. */
  stop: () => Promise<Sample[]>
}

/** Sends `request()` `perSecond` times a second; a request not answered in `timeoutMs` is recorded as `timeout`. */
export function steadyLoad (request: (signal: AbortSignal) => Promise<Response>, perSecond: number, timeoutMs = 10_000): Load {
  const start = performance.now()
  const now = () => performance.now() - start
  const pending: Array<Promise<Sample>> = []
  const send = async (): Promise<Sample> => {
    const sentAt = now()
    try {
      const res = await request(AbortSignal.timeout(timeoutMs))
      const text = await res.text()
      let body: Record<string, unknown> | undefined
      try { body = JSON.parse(text) } catch {}
      return { sentAt, doneAt: now(), status: res.status, body, retryAfter: res.headers.get('retry-after') }
    } catch (err) {
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
      return await Promise.all(pending)
    }
  }
}
