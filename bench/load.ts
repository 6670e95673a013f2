/**
 * The load generator of `npm run bench`, run as its own process so that it never shares an event
 * loop with the server. It reads a job (JSON file named by argv[2]), drives autocannon and writes
 * one JSON line with the results to stdout.
 *
 * A job either cycles through pre-built bodies (one per line of `bodiesFile`, each sent once: the
 * run ends when they run out or the duration ends, whichever is first) or repeats one `body`.
 */
import fs from 'node:fs'
import autocannon from 'autocannon'

/** What the orchestrator asks for. */
export interface LoadJob {
  url: string
  connections: number
  duration: number
  headers: Record<string, string>
  bodiesFile?: string
  body?: string
  /** Requests per second over all connections (autocannon's overallRate): an offered load, not as fast as answered. */
  rate?: number
}

/** What the orchestrator gets back; latencies in milliseconds, measured per request. */
export interface LoadResult {
  requests: number
  ok: number
  non2xx: number
  errors: number
  timeouts: number
  statusCodes: Record<string, number>
  seconds: number
  rps: number
  p50: number
  p90: number
  p99: number
  max: number
  exhausted: boolean
  /** CPU the load generator itself used during the run, ms. */
  cpuMs: number
}

/** The q-quantile of sorted values (nearest rank). */
function quantile (sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!
}

async function main (): Promise<void> {
  const job = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as LoadJob
  const bodies = job.bodiesFile ? fs.readFileSync(job.bodiesFile, 'utf8').split('\n').filter(Boolean) : undefined
  let next = 0
  // Fractional milliseconds of each 2xx answer: autocannon's own histogram rounds to whole ms.
  const latencies = new Float64Array(bodies ? bodies.length : 2_000_000)
  let recorded = 0

  const request: autocannon.Request = { method: 'POST', headers: job.headers }
  if (bodies) {
    request.setupRequest = (req) => ({ ...req, body: bodies[next++] ?? '' })
  } else {
    request.body = job.body!
  }
  const cpu0 = process.cpuUsage()
  // autocannon's own duration moves in whole ticks of its 1 s sampler: a phase that used up its
  // assertions in 3.1 s reads 4.02 s. Rates come from the first send to the last answer instead.
  const started = performance.now()
  let lastAnswer = started
  let instance: autocannon.Instance | undefined
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon({
      url: job.url,
      connections: job.connections,
      duration: job.duration,
      // Each body carries a one-time jti, so none may be sent twice.
      ...(bodies ? { maxOverallRequests: bodies.length } : {}),
      ...(job.rate ? { overallRate: job.rate } : {}),
      requests: [request],
      timeout: 10
    }, (err, result) => { if (err) reject(err); else resolve(result) })
  })
  instance!.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    lastAnswer = performance.now()
    if (statusCode >= 200 && statusCode < 300 && recorded < latencies.length) latencies[recorded++] = responseTime
  })
  const result = await done
  const cpu = process.cpuUsage(cpu0)
  const sorted = latencies.subarray(0, recorded).sort()
  const statusCodes: Record<string, number> = {}
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = (stat as { count: number }).count
  const ok = result['2xx']
  const seconds = lastAnswer > started ? (lastAnswer - started) / 1000 : result.duration
  const out: LoadResult = {
    requests: ok + result.non2xx,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    seconds,
    rps: ok / seconds,
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    max: sorted.length ? sorted[sorted.length - 1]! : NaN,
    exhausted: bodies !== undefined && next >= bodies.length,
    cpuMs: (cpu.user + cpu.system) / 1000
  }
  process.stdout.write(JSON.stringify(out) + '\n')
}

main().catch((err: unknown) => {
  process.stderr.write(`load generator failed: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exit(1)
})
