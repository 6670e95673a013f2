// OpenTelemetry traces (README "Traces"). server.ts imports this module only when an OTLP endpoint
// is configured, and before it imports the app. With no endpoint, none of the packages below is
// loaded (.dependency-cruiser.cjs keeps them to this file).
//
// pg and ESM: src/db/connect.ts imports pg from an ES module, which loads pg's ESM entry
// (pg/esm/index.mjs), which imports pg/lib/index.js: no require() on the way, and require() is
// what the pg instrumentation hooks (through require-in-the-middle). It works all the same, with
// no ESM loader hook and no change to connect.ts: pg/lib/index.js loads its client
// (pg/lib/client.js) and pg-pool with require(), and the instrumentation patches those files. That only holds if it is enabled before pg is
// first loaded, hence the order in server.ts. import-in-the-middle's loader hook would also do, but
// it wraps every ES module the process loads, for nothing here. test/tracing.test.ts, on PostgreSQL,
// fails if the statements stop appearing under their request.
import { diag, DiagLogLevel, trace } from '@opentelemetry/api'
import { registerInstrumentations } from '@opentelemetry/instrumentation'
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg'
import { FastifyOtelInstrumentation } from '@fastify/otel'
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources'
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node'
import { pino } from 'pino'
import type { TracingConfig } from './config.js'
import { loggerOptions } from './logger.js'

export interface Tracing {
  /** The trace and span ids of the span active where a line is logged, for pino's `mixin`. */
  logFields: () => Record<string, string>
  /** Exports the spans still buffered and stops; call it after the app has closed. */
  shutdown: () => Promise<void>
}

/** The active span's ids under the names log lines carry them; nothing outside a span. */
function logFields (): Record<string, string> {
  const span = trace.getActiveSpan()
  if (span === undefined) return {}
  const { traceId, spanId } = span.spanContext()
  return { trace_id: traceId, span_id: spanId }
}

/** Path without the query: fastify/otel records `request.url` whole, and a query may hold a credential the token endpoint would refuse (README, "The token endpoint"). */
function pathOf (url: string): string {
  const q = url.indexOf('?')
  return q < 0 ? url : url.slice(0, q)
}

/**
 * Starts tracing: a tracer provider registered as the global one, a batch processor exporting over
 * OTLP/HTTP, and the fastify and pg instrumentations. The exporter still reads the other standard
 * variables itself (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _COMPRESSION, the certificates), as do
 * the batch processor (OTEL_BSP_*), the sampler (OTEL_TRACES_SAMPLER) and the resource
 * (OTEL_RESOURCE_ATTRIBUTES).
 */
export function startTracing (config: TracingConfig, logLevel: string): Tracing {
  // The SDK reports its own failures (an export the collector refused or never answered) through
  // `diag`, which is silent until given a logger: without this, a wrong endpoint loses every span unseen.
  const log = pino(loggerOptions(logLevel)).child({ component: 'opentelemetry' })
  diag.setLogger({
    error: (msg, ...args) => { log.error(args.length > 0 ? { args } : {}, msg) },
    warn: (msg, ...args) => { log.warn(args.length > 0 ? { args } : {}, msg) },
    info: () => {},
    debug: () => {},
    verbose: () => {}
  }, DiagLogLevel.WARN)

  // The URL without user info or query, which could hold a credential.
  const shown = new URL(config.url)
  log.info({ url: shown.origin + shown.pathname, protocol: config.protocol }, 'exporting traces')

  const exporter = config.protocol === 'http/json' ? new JsonExporter({ url: config.url }) : new ProtobufExporter({ url: config.url })
  const provider = new NodeTracerProvider({
    // OTEL_SERVICE_NAME, else service.name in OTEL_RESOURCE_ATTRIBUTES, else ours (README "Traces"):
    // what an operator who set either for other services expects.
    resource: defaultResource()
      .merge(resourceFromAttributes({ 'service.name': 'aoc-auth-server' }))
      .merge(detectResources({ detectors: [envDetector] }))
      .merge(config.serviceName !== undefined ? resourceFromAttributes({ 'service.name': config.serviceName }) : null),
    spanProcessors: [new BatchSpanProcessor(exporter)]
  })
  // Sets the global provider, the AsyncLocalStorage context manager (so a span started in a request's
  // hook is the active one in everything the request awaits) and the W3C traceparent propagator.
  provider.register()

  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new FastifyOtelInstrumentation({
        // Added to every fastify instance as it is created, so app.ts does not know about tracing.
        registerOnInitialization: true,
        // Probes poll these every few seconds; a trace of each would bury the requests that matter.
        ignorePaths: (route) => route.url.startsWith('/health/'),
        // Only the request span and the handler's: one span per hook (a dozen per request: CORS,
        // helmet, rate limit, request id...) costs CPU on the hot token path and says little; their
        // time is the request span's minus the handler's, and their queries still nest under the request.
        instrumentHooks: false,
        requestHook: (span, request) => {
          // One name per route (method and pattern), so that a tracing back end groups a route's
          // requests; never the path itself (an org name is not a span name).
          span.updateName(request.routeOptions.url !== undefined ? `${request.method} ${request.routeOptions.url}` : request.method)
          span.setAttribute('url.path', pathOf(request.url))
        }
      }),
      new PgInstrumentation({
        // Never true: it would record each statement's parameters, which are assertions' jtis,
        // password hashes, encrypted secrets, token hashes (docs/security.md, "Traces carry no credentials").
        enhancedDatabaseReporting: false,
        // Statements outside a request (migrations, the purge, key refresh) would each be a
        // one-span trace; requests are what traces are for here.
        requireParentSpan: true
      })
    ]
  })

  return {
    logFields,
    shutdown: async () => {
      await provider.shutdown()
    }
  }
}
