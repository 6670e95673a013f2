// HAProxy for the cluster tests: Debian's package (`.ci/run` installs it), run on loopback with the
// repository's own deploy/haproxy.cfg, of which only the addresses are changed.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import type { SeenResponse } from './openapi-check.js'
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

/**
 * The servers of `backend` as HAProxy sees them now (GET /stats;csv on the stats frontend). A plain
 * fetch: the stats frontend is HAProxy's own page on a port of its own, no operation of openapi.yaml.
 */
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

/**
 * One request as HAProxy's httplog line tells it: the server that answered or failed it, the status
 * sent, and the termination state, whose first character is `-` when the session ended normally (the
 * server's own response went through) and names who ended it otherwise (`S` the server, `P` the
 * proxy, `s` a server-side timeout…: HAProxy's configuration manual, "Session state at disconnection").
 */
export interface LoggedRequest { server: string, status: number, url: string, termination: string }

/**
 * Parses the `option httplog` lines (raw format, on HAProxy's stdout) of frontend `frontend`:
 * `<client> [<date>] <frontend> <backend>/<server> <timers> <status> <bytes> <req cookie> <resp cookie>
 * <termination state> … "<method> <url> <version>"`.
 */
export function loggedRequests (log: string, frontend: string): LoggedRequest[] {
  const line = new RegExp(`\\] ${frontend} [^/\\s]+/(\\S+) \\S+ (-?\\d+) \\S+ \\S+ \\S+ (\\S{4}) .*"[A-Z]+ (\\S+) HTTP/[\\d.]+"$`)
  const out: LoggedRequest[] = []
  for (const l of log.split('\n')) {
    const m = line.exec(l)
    if (m) out.push({ server: m[1]!, status: Number(m[2]), termination: m[3]!, url: m[4]! })
  }
  return out
}

/** HAProxy's built-in error page (its `errorfile` defaults): `<html><body><h1>503 Service Unavailable</h1>\n…\n</body></html>\n`. */
const HAPROXY_ERROR_PAGE = /^<html><body><h1>(\d{3}) [^<]+<\/h1>\n[^<]*<\/body><\/html>\n$/

/**
 * Why a response through the balancer is HAProxy's own and not an instance's, or undefined for an
 * instance's (checkedFetch's `notTheApi`): one of HAProxy's built-in error pages, sent as HAProxy
 * sends them (text/html, `cache-control: no-cache`) with the status its heading names. The API never
 * answers HTML on its routes, so an instance's response cannot pass for one; the test holds each
 * response told apart here to HAProxy's log, which says who ended that request.
 */
export function haproxyOwnAnswer (r: SeenResponse): string | undefined {
  const body = r.body === undefined ? '' : r.body.toString()
  const page = HAPROXY_ERROR_PAGE.exec(body)
  const isPage = page !== null && Number(page[1]) === r.status &&
    String(r.headers['content-type']) === 'text/html' && String(r.headers['cache-control']) === 'no-cache'
  return isPage ? `HAProxy's own ${r.status} page: no instance answered this request` : undefined
}
