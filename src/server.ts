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
  // In-flight requests finish; then the pool (or embedded database) closes in the app's onClose,
  // and the spans still buffered are exported.
  closeWithGrace({ delay: config.shutdownTimeout * 1000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'closing after an error')
    else app.log.info({ signal }, 'closing')
    await app.close()
    await tracing?.shutdown()
  })
  await app.listen({ port: config.port, host: config.host })
}

main().catch((err: unknown) => {
  process.stderr.write(`failed to start: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
