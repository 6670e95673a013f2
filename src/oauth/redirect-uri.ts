// Which redirect URI an authorization request may use (RFC 6749 §3.1.2, RFC 8252 §7.3). Pure.

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost'])

function loopbackParts (uri: string): { rest: string, host: string } | undefined {
  let url: URL
  try { url = new URL(uri) } catch { return undefined }
  if (url.protocol !== 'http:' || !LOOPBACK_HOSTS.has(url.hostname) || url.username || url.password) return undefined
  return { host: url.hostname, rest: url.pathname + url.search }
}

/**
 * The redirect URI to use, or undefined when the request's does not match: it must equal a
 * registered one exactly, except that an http loopback URI (127.0.0.1, [::1], localhost) may differ
 * in port only, as native apps such as ascli listen on a port of the moment. A client that registered
 * exactly one URI may leave it out. A fragment is never allowed.
 */
export function matchRedirectUri (registered: readonly string[], given: string | undefined): string | undefined {
  if (given === undefined) return registered.length === 1 ? registered[0] : undefined
  if (given.includes('#') || given.length > 2048) return undefined
  if (registered.includes(given)) return given
  const g = loopbackParts(given)
  if (!g) return undefined
  for (const r of registered) {
    const p = loopbackParts(r)
    if (p && p.host === g.host && p.rest === g.rest) return given
  }
  return undefined
}
