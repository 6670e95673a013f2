// Waiting for a condition by polling, for the tests that measure how soon a change made on one
// instance reaches another (test/cluster/): the time it took is their finding, so the pause between
// checks is short (1 ms by default), well below the bounds they assert (tens of milliseconds).

/**
 * Calls `check` until it returns true, pausing `pauseMs` between calls, and returns the milliseconds
 * it took; throws, naming `what`, once `timeoutMs` have passed without it.
 */
export async function until (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000, pauseMs = 1): Promise<number> {
  const start = performance.now()
  while (!(await check())) {
    if (performance.now() - start > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, pauseMs))
  }
  return performance.now() - start
}
