import { InvalidParameterError } from '../errors.js'

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost'])

/** True for http://127.0.0.1, http://[::1] and http://localhost, any port (RFC 8252 §7.3). */
export function isLoopbackHttp (url: URL): boolean {
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)
}

/** A redirect URI: absolute, https or loopback http, no fragment, no credentials. */
export function checkRedirectUri (value: string, param: string): string {
  let url: URL
  try { url = new URL(value) } catch { throw new InvalidParameterError(param, `${param} must be an absolute URI`) }
  if (value.includes('#')) throw new InvalidParameterError(param, `${param} must not have a fragment`)
  if (url.username || url.password) throw new InvalidParameterError(param, `${param} must not carry credentials`)
  if (url.protocol !== 'https:' && !isLoopbackHttp(url)) {
    throw new InvalidParameterError(param, `${param} must use https, or http on a loopback address`)
  }
  return value
}

/** An origin: scheme, host and optional port only (https, or loopback http). */
export function checkOrigin (value: string, param: string): string {
  let url: URL
  try { url = new URL(value) } catch { throw new InvalidParameterError(param, `${param} must be an origin such as https://app.example.com`) }
  if (url.origin === 'null' || url.origin !== value.replace(/\/$/, '') || value.endsWith('/')) {
    throw new InvalidParameterError(param, `${param} must be scheme, host and port only, such as https://app.example.com`)
  }
  if (url.protocol !== 'https:' && !isLoopbackHttp(url)) {
    throw new InvalidParameterError(param, `${param} must use https, or http on a loopback address`)
  }
  return value
}
