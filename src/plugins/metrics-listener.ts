// The metrics' own listener (METRICS_PORT): Prometheus scrapes it, the main port never serves them.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { registry } from '../metrics.js'

/** A listener that answers `GET /metrics` in Prometheus' text format, and 404 to anything else. */
export async function startMetricsListener (port: number, host: string): Promise<{ port: number, close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n')
      return
    }
    registry.metrics().then(
      (text) => { res.writeHead(200, { 'content-type': registry.contentType }).end(text) },
      () => { res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n') }
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  })
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => { await new Promise<void>((resolve) => server.close(() => resolve())) }
  }
}
