import { InvalidParameterError } from '../errors.js'

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost'])

/**
 * The WHATWG parser forgives `https:host`, backslashes, surrounding spaces and control characters;
 * a value it had to repair would be stored as typed and then never match exactly, so refuse it.
 */
const WELL_FORMED = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s\\/?#]+[^\s\\]*$/

/** True for http://127.0.0.1, http://[::1] and http://localhost, any port (RFC 8252 §7.3). */
export function isLoopbackHttp (url: URL): boolean {
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)
}

/** A redirect URI: absolute, https or loopback http, no fragment, no credentials. */
export function checkRedirectUri (value: string, param: string): string {
  let url: URL
  try { url = new URL(value) } catch { throw new InvalidParameterError(param, `${param} must be an absolute URI`) }
  if (!WELL_FORMED.test(value)) throw new InvalidParameterError(param, `${param} must be an absolute URI such as https://app.example.com/callback`)
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
  // Browsers send Origin without a trailing slash, so only that exact form can ever match.
  if (url.origin === 'null' || url.origin !== value) {
    throw new InvalidParameterError(param, `${param} must be scheme, host and port only, such as https://app.example.com`)
  }
  if (url.protocol !== 'https:' && !isLoopbackHttp(url)) {
    throw new InvalidParameterError(param, `${param} must use https, or http on a loopback address`)
  }
  return value
}
