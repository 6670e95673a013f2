interface Known { pattern: RegExp, methods: Set<string> }

/** A route URL (`/api/v1/oauth2/:org/token`) as a pattern for concrete paths; any segment with a parameter matches one segment. */
function patternOf (url: string): RegExp {
  const segments = url.replace(/\/+$/, '').split('/').map((s) =>
    s.includes(':') ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
  // The app ignores a trailing slash, so the pattern does too.
  return new RegExp(`^${segments.join('/')}/?$`)
}

/**
 * The methods that routes answer for a concrete path: a request the router did not match is then
 * either a wrong method on a known path (405, with `Allow`) or an unknown path (404).
 */
export class RouteMethods {
  private readonly known = new Map<string, Known>()

  /** Records a route, as fastify's `onRoute` hook reports it. */
  add (method: string | string[], url: string): void {
    // A catch-all (CORS preflights: `OPTIONS *`) answers any path, so it says nothing of which exist.
    if (url.includes('*')) return
    const entry = this.known.get(url) ?? { pattern: patternOf(url), methods: new Set<string>() }
    for (const m of Array.isArray(method) ? method : [method]) entry.methods.add(m.toUpperCase())
    this.known.set(url, entry)
  }

  /** The methods some route answers for `path` (no query string), sorted; empty for an unknown path. */
  allowedFor (path: string): string[] {
    const out = new Set<string>()
    for (const { pattern, methods } of this.known.values()) {
      if (pattern.test(path)) for (const m of methods) out.add(m)
    }
    return [...out].sort()
  }
}
