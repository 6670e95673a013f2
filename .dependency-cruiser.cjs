// The architecture on one screen (docs/architecture.md). Layers, top to bottom; a module may import
// its own layer and any layer below it, never one above. CI runs this with no exceptions.
//
//   app.ts, server.ts      build and start
//   routes/, cli/          HTTP and the ops command line
//   plugins/               fastify wiring: bearer auth, errors, rate limit, CORS, OpenAPI
//   services/              rules that cross tables, one transaction each; bootstrap; purge
//   browser/               sign-in pages, sessions, throttling
//   oauth/                 the protocol: token endpoint, grants, policy, tokens
//   registry/              validation and the rules of one resource
//   context.ts             what routes and services are handed (types)
//   keys/                  signing keys, secret encryption, public-key checks
//   cache/                 the row caches
//   store/                 one module per table: all the SQL
//   db/                    kysely types, connection, migrator
//   config, logger, errors, ids, paths, metrics, tracing
const layers = [
  ['app', '^src/(app|server)\\.ts$'],
  ['routes', '^src/(routes|cli)/'],
  ['plugins', '^src/plugins/'],
  ['services', '^src/services/'],
  ['browser', '^src/browser/'],
  ['oauth', '^src/oauth/'],
  ['registry', '^src/registry/'],
  ['context', '^src/context\\.ts$'],
  ['keys', '^src/keys/'],
  ['cache', '^src/cache/'],
  ['store', '^src/store/'],
  ['db', '^src/db/'],
  ['base', '^src/(config|logger|errors|ids|paths|metrics|tracing)\\.ts$']
]

const downOnly = layers.slice(1).map(([name, path], i) => ({
  name: `no-upward-import-from-${name}`,
  severity: 'error',
  comment: `${name} may import only its own layer and those below it (.dependency-cruiser.cjs)`,
  from: { path },
  to: { path: layers.slice(0, i + 1).map(([, p]) => p) }
}))

module.exports = {
  forbidden: [
    ...downOnly,
    {
      name: 'every-module-in-a-layer',
      severity: 'error',
      comment: 'a new folder or root file must be given its place in the layers above',
      from: { path: '^src/', pathNot: layers.map(([, p]) => p) },
      to: {}
    },
    {
      name: 'every-imported-module-in-a-layer',
      severity: 'error',
      comment: 'a new folder or root file must be given its place in the layers above',
      from: {},
      to: { path: '^src/', pathNot: layers.map(([, p]) => p) }
    },
    {
      name: 'pure-policy',
      severity: 'error',
      comment: 'the policy and the credential rule are pure: data in, decision out; they import nothing',
      from: { path: '^src/oauth/(policy|credential-rule)\\.ts$' },
      to: {}
    },
    {
      name: 'opentelemetry-only-in-tracing',
      severity: 'error',
      comment: 'with tracing off no OpenTelemetry package is loaded: only src/tracing.ts imports them (README "Traces")',
      from: { path: '^src/', pathNot: '^src/tracing\\.ts$' },
      to: { path: 'node_modules/(@opentelemetry|@fastify/otel)/' }
    },
    {
      name: 'tracing-only-from-server-dynamically',
      severity: 'error',
      comment: 'server.ts imports src/tracing.ts with import(), and only when an OTLP endpoint is set; nothing else imports it',
      from: { path: '^src/' },
      to: { path: '^src/tracing\\.ts$', dependencyTypesNot: ['dynamic-import'] }
    },
    {
      name: 'tracing-only-from-server',
      severity: 'error',
      comment: 'server.ts imports src/tracing.ts with import(), and only when an OTLP endpoint is set; nothing else imports it',
      from: { path: '^src/', pathNot: '^src/server\\.ts$' },
      to: { path: '^src/tracing\\.ts$' }
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'modules that import each other cannot be read, tested or layered apart',
      from: { path: '^src/' },
      to: { circular: true }
    },
    {
      name: 'no-test-code-in-src',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench|scripts)/' }
    }
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // node_modules is not followed, but not excluded either: the rule on the OpenTelemetry packages
    // needs to see which of them src/ imports.
    exclude: { path: '^dist/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] }
  }
}
