import type { PostgresPool, PostgresPoolClient } from 'kysely'
import type pg from 'pg'

/**
 * A pool whose connections are each busy at most `duty` of the wall time: a connection that was
 * checked out for d ms goes back to the pool only d × (1/duty − 1) ms after its release. The REST
 * lists run on such a pool (ADMIN_DB_DUTY) so that ten admin searches back to back leave the
 * server's cores to the token endpoint: with one connection and duty ½, the lists keep at most
 * half a core busy in PostgreSQL, however many wait (docs/operations.md, README "Benchmarks").
 * Proportional, as the purge's pace is: a slower database gets longer pauses. 1: no pause.
 * A pause is at most MAX_PAUSE_MS: a statement that ran long because the database was going away
 * (an outage ends it with an error) must not keep the connection from the lists after the database's
 * return (docs/operations.md: lists answer again within 5 s).
 */
export const MAX_PAUSE_MS = 1000

export class DutyPool implements PostgresPool {
  private readonly held = new Set<{ timer: NodeJS.Timeout, release: () => void }>()

  constructor (private readonly pool: pg.Pool, private readonly duty: number) {
    if (!(duty > 0 && duty <= 1)) throw new RangeError(`pool duty must be in (0, 1], not ${duty}`)
  }

  async connect (): Promise<PostgresPoolClient> {
    const client = await this.pool.connect()
    const since = performance.now()
    // pg-pool gives a client a new release function at each checkout, so this wraps that one only.
    const release = client.release.bind(client)
    client.release = (destroy?: Error | boolean) => {
      const rest = Math.min(MAX_PAUSE_MS, (performance.now() - since) * (1 / this.duty - 1))
      if (destroy !== undefined && destroy !== false) { release(destroy); return }
      if (rest < 1) { release(); return }
      const hold = {
        timer: setTimeout(() => { this.held.delete(hold); release() }, rest),
        release
      }
      this.held.add(hold)
    }
    return client as unknown as PostgresPoolClient
  }

  /** Returns the held connections at once (a close does not wait out their pauses), then ends the pool. */
  async end (): Promise<void> {
    for (const hold of this.held) {
      clearTimeout(hold.timer)
      hold.release()
    }
    this.held.clear()
    await this.pool.end()
  }
}
