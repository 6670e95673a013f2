// The Redis connection that shares the token endpoint's rate-limit counters between instances
// (REDIS_URL; docs/cluster.md "Shared rate limits"). Redis holds counters only, never a credential:
// while it is away the limits fail open (plugins/token-rate-limit.ts), so nothing here may make a
// request wait for it. Commands fail at once while disconnected (no offline queue) and give up
// after COMMAND_TIMEOUT_MS on a Redis that accepts connections but does not answer.
import { Redis } from 'ioredis'

/** A token request waits at most this long for its counter; past it, the limit fails open. */
export const REDIS_COMMAND_TIMEOUT_MS = 500
/** How long building the app waits for the first connection before it starts failing open. */
const FIRST_CONNECT_WAIT_MS = 2000

export interface RedisEvents {
  /** Called on each change of state: up when the connection is ready, down (with why) when it is lost or refused. */
  state: (up: boolean, reason?: string) => void
}

export interface RedisHandle {
  client: Redis
  /** Whether the connection is ready now. */
  up: () => boolean
  close: () => Promise<void>
}

/** The reconnect delay after `times` failed tries: 0.25 s doubling to 10 s, as the change feed's (db/change-feed.ts). */
export function redisBackoff (times: number): number {
  return Math.min(250 * 2 ** Math.max(0, times - 1), 10_000)
}

/**
 * Connects to `url` and keeps reconnecting with backoff for as long as the handle is open. Waits
 * up to 2 s for the first connection; if Redis does not answer by then, it returns anyway (the
 * server starts, its limits failing open until Redis is back).
 */
export async function connectRedis (url: string, events: RedisEvents): Promise<RedisHandle> {
  const client = new Redis(url, {
    connectionName: 'aoc-rate-limit',
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: FIRST_CONNECT_WAIT_MS,
    retryStrategy: redisBackoff
  })
  let up = false
  let lastReason: string | undefined
  client.on('ready', () => {
    if (!up) { up = true; lastReason = undefined; events.state(true) }
  })
  // ioredis prints an "Unhandled error event" of its own without a listener; the reason of the
  // last error is what 'close' reports.
  client.on('error', (err: Error & { code?: string }) => { lastReason = err.code ?? err.message })
  client.on('close', () => {
    if (up) { up = false; events.state(false, lastReason ?? 'connection closed') }
  })
  await new Promise<void>((resolve) => {
    const done = (): void => { clearTimeout(timer); client.off('ready', done); resolve() }
    const timer = setTimeout(() => {
      client.off('ready', done)
      if (!up) events.state(false, lastReason ?? 'no answer')
      resolve()
    }, FIRST_CONNECT_WAIT_MS)
    client.once('ready', done)
  })
  return {
    client,
    up: () => up,
    close: async () => {
      // quit() waits for a reply that a lost Redis never sends: disconnect() does not.
      if (up) await client.quit().catch(() => client.disconnect())
      else client.disconnect()
    }
  }
}
