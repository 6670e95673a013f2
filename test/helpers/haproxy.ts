// HAProxy for the cluster tests: Debian's package (`.ci/run` installs it), run on loopback with the
// repository's own deploy/haproxy.cfg, of which only the addresses are changed.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { ROOT } from './process.js'

/** The committed balancer configuration that docker-compose.cluster.yml mounts. */
export const HAPROXY_CFG = path.join(ROOT, 'deploy', 'haproxy.cfg')

/** Where Debian's `haproxy` package puts it: in sbin, which a non-root PATH may lack. */
const DEBIAN_HAPROXY = '/usr/sbin/haproxy'

/** The binary the tests run: HAPROXY_PATH when set, else Debian's, else `haproxy` on PATH. */
export function haproxyPath (): string {
  return process.env.HAPROXY_PATH || (fs.existsSync(DEBIAN_HAPROXY) ? DEBIAN_HAPROXY : 'haproxy')
}

/** True when a missing HAProxy must fail the test rather than skip it (REQUIRE_HAPROXY=1, which .ci/run sets). */
export function haproxyRequired (): boolean {
  return process.env.REQUIRE_HAPROXY === '1' || process.env.REQUIRE_HAPROXY === 'true'
}

/** Why HAProxy cannot run here, or undefined when `haproxy -v` answers. */
export function haproxyUnavailable (): string | undefined {
  const res = spawnSync(haproxyPath(), ['-v'], { encoding: 'utf8', timeout: 10_000 })
  if (res.status === 0 && /HAProxy version/i.test(res.stdout)) return undefined
  return `no HAProxy at ${haproxyPath()} (install the Debian package haproxy, or set HAPROXY_PATH)`
}

/** Where the loopback copy listens: the public frontend, the stats frontend, and each server by its name in the file. */
export interface LoopbackPorts { front: number, stats: number, servers: Record<string, number> }

/**
 * deploy/haproxy.cfg with its five addresses marked `# test: replaced` pointed at loopback ports, and
 * nothing else changed. Each replacement must match exactly one line, and none may be left over: a
 * change of the file that the test would silently not follow fails here.
 */
export function loopbackConfig (ports: LoopbackPorts): string {
  let text = fs.readFileSync(HAPROXY_CFG, 'utf8')
  const replace = (line: RegExp, by: string) => {
    const found = text.match(new RegExp(line.source, 'gm'))
    if (found?.length !== 1) throw new Error(`deploy/haproxy.cfg: expected one line matching ${line}, found ${found?.length ?? 0}`)
    text = text.replace(new RegExp(line.source, 'm'), by)
  }
  replace(/^(\s*)bind :8080 # test: replaced$/, `$1bind 127.0.0.1:${ports.front}`)
  replace(/^(\s*)bind :8404 # test: replaced$/, `$1bind 127.0.0.1:${ports.stats}`)
  for (const [name, port] of Object.entries(ports.servers)) {
    replace(new RegExp(`^(\\s*)server ${name} ${name}:3000 # test: replaced$`), `$1server ${name} 127.0.0.1:${port}`)
  }
  if (text.includes('# test: replaced')) throw new Error('deploy/haproxy.cfg has an address the test does not replace')
  return text
}

/** One server's line of HAProxy's CSV statistics: its state, and its counters by their column names (stot, hrsp_2xx, econ…). */
export interface ServerStat { status: string, checkStatus: string, counters: Record<string, number> }

/** The response counters of the CSV: every response a server sent, by class. */
export const RESPONSE_COUNTERS = ['hrsp_1xx', 'hrsp_2xx', 'hrsp_3xx', 'hrsp_4xx', 'hrsp_5xx', 'hrsp_other']

/** The servers of `backend` as HAProxy sees them now (GET /stats;csv on the stats frontend). */
export async function serverStates (statsPort: number, backend: string): Promise<Record<string, ServerStat>> {
  const csv = await (await fetch(`http://127.0.0.1:${statsPort}/stats;csv`)).text()
  const [header, ...rows] = csv.trim().split('\n')
  const columns = header!.replace(/^# /, '').split(',')
  const col = (row: string[], name: string) => row[columns.indexOf(name)] ?? ''
  const states: Record<string, ServerStat> = {}
  for (const row of rows.map((r) => r.split(','))) {
    const name = col(row, 'svname')
    if (col(row, 'pxname') !== backend || name === 'BACKEND' || name === 'FRONTEND') continue
    const counters = Object.fromEntries(columns.map((c, i) => [c, Number(row[i])] as const).filter(([, v]) => Number.isFinite(v)))
    states[name] = { status: col(row, 'status'), checkStatus: col(row, 'check_status'), counters }
  }
  return states
}

/** One request as HAProxy's httplog line tells it: the server that answered or failed it, and the status sent. */
export interface LoggedRequest { server: string, status: number, url: string }

/**
 * Parses the `option httplog` lines (raw format, on HAProxy's stdout) of frontend `frontend`:
 * `<client> [<date>] <frontend> <backend>/<server> <timers> <status> … "<method> <url> <version>"`.
 */
export function loggedRequests (log: string, frontend: string): LoggedRequest[] {
  const line = new RegExp(`\\] ${frontend} [^/\\s]+/(\\S+) \\S+ (-?\\d+) .*"[A-Z]+ (\\S+) HTTP/[\\d.]+"$`)
  const out: LoggedRequest[] = []
  for (const l of log.split('\n')) {
    const m = line.exec(l)
    if (m) out.push({ server: m[1]!, status: Number(m[2]), url: m[3]! })
  }
  return out
}
