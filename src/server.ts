import closeWithGrace from 'close-with-grace'
import { ConfigError, loadConfig } from './config.js'
import { loggerOptions } from './logger.js'

/** Starts the service: config, app, listen, and a graceful close on SIGINT/SIGTERM. */
async function main (): Promise<void> {
  let config
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(err.message + '\n')
      process.exit(78) // EX_CONFIG
    }
    throw err
  }
  // Tracing starts before the app is imported, and both are imported here with import(): the pg
  // instrumentation patches pg's files as they are first loaded, which importing app.js does; and
  // without an endpoint the OpenTelemetry SDK is never loaded (src/tracing.ts).
  const tracing = config.tracing ? (await import('./tracing.js')).startTracing(config.tracing, config.logLevel) : undefined
  const { buildApp } = await import('./app.js')
  const app = await buildApp({ config, logger: loggerOptions(config.logLevel, tracing?.logFields) })
  // SIGTERM is how an orchestrator stops a replica: for SHUTDOWN_GRACE seconds /health/ready answers
  // 503 while requests are still served, so that the load balancer stops sending before the listener
  // closes. Then in-flight requests finish, new connections are refused, the pool (or embedded
  // database) closes in the app's onClose, and the spans still buffered are exported. SIGINT (Ctrl-C
  // at a terminal) skips the grace period.
  closeWithGrace({ delay: (config.shutdownGrace + config.shutdownTimeout) * 1000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'closing after an error')
    if (signal === 'SIGTERM' && config.shutdownGrace > 0) {
      app.ctx.lifecycle.draining = true
      app.log.info({ signal, grace_seconds: config.shutdownGrace }, 'draining: readiness answers 503, requests are still served')
      await new Promise((resolve) => setTimeout(resolve, config.shutdownGrace * 1000))
    }
    app.log.info({ signal }, 'closing')
    await app.close()
    await tracing?.shutdown()
  })
  await app.listen({ port: config.port, host: config.host })
}

main().catch((err: unknown) => {
  process.stderr.write(`failed to start: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
