import { Type, type TProperties, type TSchema } from '@sinclair/typebox'
import { RETRY_AFTER_SECONDS } from '../errors.js'
import { retryAfterHeader } from './responses.js'

export { OrgParams } from './schemas.js'

/** A page's form body, for the OpenAPI document: the fields plus the CSRF token every form carries. */
export const PageForm = (fields: TProperties, example: Record<string, string>) => Type.Object({
  _csrf: Type.String({ description: 'The CSRF token of the page that holds the form.' }),
  ...fields
}, { additionalProperties: true, examples: [{ _csrf: 'h3Zc9Qw2-Vt7LmK1xRb5YpN0sJd4FgA6', ...example }] })

/** The browser session, optional: the pages answer anonymous browsers too (OpenAPI's empty requirement). */
export const OPTIONAL_SESSION: Array<Record<string, string[]>> = [{ sessionCookie: [] }, {}]

/** The pages read their own input and answer with a page; ajv must not answer first with JSON. */
export const acceptAll = () => () => true

/** A page as the browser pages answer it (browser/pages.ts), its body cut to the heading and the message. */
function pageExample (title: string, body: string): string {
  return `<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>${title}</title>\n</head>\n<body>\n<main>\n${body}\n</main>\n</body>\n</html>\n`
}

/** An HTML page answer (`text/html`, `Cache-Control: no-store`, its own Content-Security-Policy); `name` shares it. */
export function page (description: string, title: string, body: string, opts: { name?: string, headers?: Record<string, unknown> } = {}): TSchema {
  return {
    type: 'string',
    'x-response-description': description,
    ...(opts.name && { 'x-response': opts.name }),
    ...(opts.headers && { headers: opts.headers }),
    examples: [pageExample(title, body)]
  } as unknown as TSchema
}

/** A redirect: no body, a `Location`. */
export function redirect (description: string): TSchema {
  return Type.Null({ description, headers: { Location: { type: 'string', description: 'Where the browser goes next.' } } })
}

/** The error page for an error a form post can make: a body the server cannot read (415 and the like). */
export const UnreadableForm = page('The request could not be read: not a form, or malformed.', 'Invalid request',
  '<h1>Invalid request</h1>\n<p role="alert">The request could not be read.</p>', { name: 'PageUnreadable' })

/** 403: the CSRF token is missing or does not match its cookie. */
export const FormExpired = page('The form\'s CSRF token is missing or does not match its cookie: the form did not come from this site, or is too old.',
  'This form has expired', '<h1>This form has expired</h1>\n<p role="alert">The form was not sent from this site, or it is too old. Go back, reload the page and try again.</p>',
  { name: 'PageFormExpired' })

/** 404: no organization has the name in the path. */
export const UnknownOrganization = page('No organization has this name.', 'Unknown organization',
  '<h1>Unknown organization</h1>\n<p role="alert">There is no organization named acme.</p>', { name: 'PageUnknownOrganization' })

/** 413: a form over BODY_LIMIT. */
export const FormTooLarge = page('The form is larger than BODY_LIMIT.', 'Invalid request',
  '<h1>Invalid request</h1>\n<p role="alert">The request could not be read.</p>', { name: 'PageTooLarge' })

/**
 * 503: the pages' own error handler (routes/browser.ts) answers a database that does not answer and
 * an overloaded process with this page and `Retry-After`, as the REST and OAuth answers do.
 */
export const PageUnavailable = page('The database does not answer or the server is overloaded (OVERLOAD_*): nothing was changed; reload after `Retry-After` seconds (docs/operations.md).',
  'Briefly unavailable', '<h1>Briefly unavailable</h1>\n<p role="alert">The service is briefly unavailable. Wait a few seconds, then reload the page.</p>',
  { name: 'PageUnavailable', headers: retryAfterHeader(`Seconds to wait before reloading: ${RETRY_AFTER_SECONDS}.`) })

/** The sign-in page's 429, with Retry-After (browser/login-throttle.ts). */
export const SignInThrottled = page('Too many failed sign-ins for this account or from this address within LOGIN_FAILURE_WINDOW: the sign-in page again, with the wait.',
  'Sign in to acme', '<h1>Sign in to acme</h1>\n<p class="error" role="alert">Too many failed sign-ins. Try again in 15 minutes.</p>',
  { headers: retryAfterHeader('Seconds until the failure window lets the account or address try again.') })
