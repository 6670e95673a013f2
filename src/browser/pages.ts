import { createHash } from 'node:crypto'

// The server-rendered pages of the browser sign-in: plain HTML, one inline stylesheet allowed by
// its hash, no script and nothing fetched from elsewhere, so they work without JavaScript and under
// a Content-Security-Policy that forbids everything else.

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

const STYLE = `
:root{color-scheme:light dark;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.5}
body{margin:0;padding:1rem;display:flex;justify-content:center}
main{width:100%;max-width:26rem;margin-top:2rem}
h1{font-size:1.5rem;margin:0 0 1rem}
p,ul{margin:0 0 1rem}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
input[type=email],input[type=password]{box-sizing:border-box;width:100%;font-size:1rem;padding:.6rem;border:1px solid #888;border-radius:.3rem}
button{font-size:1rem;padding:.6rem 1.2rem;border-radius:.3rem;border:1px solid #1a56db;background:#1a56db;color:#fff;cursor:pointer;margin:1rem .5rem 0 0}
button.secondary{background:transparent;color:inherit;border-color:#888}
button:focus-visible,input:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
.error{border-left:4px solid #c81e1e;padding:.5rem .75rem;background:rgba(200,30,30,.08)}
.muted{opacity:.75;font-size:.9rem}
code{word-break:break-all}
`.trim()

/** The CSP source of the one stylesheet the pages carry. */
const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`

/** A rendered page and the places its forms may lead (for the CSP's form-action). */
export interface Page {
  status: number
  html: string
  csp: string
}

/**
 * The page's Content-Security-Policy. Chromium applies form-action to every redirect that follows a
 * form post, so a form that ends at the client's redirect URI must name that URI's origin.
 */
export function pageCsp (formTargets: readonly string[] = []): string {
  const origins = [...new Set(formTargets.map((t) => new URL(t).origin))]
  return [
    "default-src 'none'",
    `style-src ${STYLE_HASH}`,
    `form-action 'self'${origins.map((o) => ' ' + o).join('')}`,
    "frame-ancestors 'none'",
    "base-uri 'none'"
  ].join('; ')
}

function layout (title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`
}

const hidden = (name: string, value: string | undefined) =>
  value === undefined ? '' : `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`

export interface LoginPageInput {
  orgName: string
  action: string
  csrf: string
  /** the authorization request to resume, as a query string */
  returnTo: string | undefined
  email?: string
  error?: string
  /** the client's redirect URI origin when the sign-in resumes an authorization request */
  formTargets?: string[]
  status?: number
}

/** The sign-in form: e-mail and password. */
export function loginPage (input: LoginPageInput): Page {
  const error = input.error ? `<p class="error" role="alert" id="login-error">${escapeHtml(input.error)}</p>` : ''
  const describedBy = input.error ? ' aria-describedby="login-error"' : ''
  const body = `<h1>Sign in to ${escapeHtml(input.orgName)}</h1>
${error}<form method="post" action="${escapeHtml(input.action)}">
${hidden('_csrf', input.csrf)}${hidden('return_to', input.returnTo)}
<label for="email">E-mail</label>
<input id="email" name="email" type="email" autocomplete="username" required maxlength="320" value="${escapeHtml(input.email ?? '')}"${describedBy}${input.email ? '' : ' autofocus'}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="256"${describedBy}${input.email ? ' autofocus' : ''}>
<button type="submit">Sign in</button>
</form>`
  return { status: input.status ?? 200, html: layout(`Sign in to ${input.orgName}`, body), csp: pageCsp(input.formTargets) }
}

/** What each scope lets the client do, in words a user can judge. */
function describeScope (scope: string): string {
  if (scope === 'user:all') return 'Act as you in this organization'
  if (scope === 'self') return 'Read and change your own profile'
  if (scope === 'admin:all' || scope.startsWith('admin-user:all')) return 'Administer this organization with your administrator rights'
  const node = /^node\.(.+):(user|admin):all$/.exec(scope)
  if (node) return node[2] === 'admin' ? `Administer the node with access key ${node[1]!}` : `Use the node with access key ${node[1]!} as you`
  return scope
}

export interface ConsentPageInput {
  orgName: string
  clientName: string
  userEmail: string
  scopes: string[]
  action: string
  csrf: string
  /** the authorization request, posted back with the decision */
  fields: Record<string, string | undefined>
  redirectUri: string
}

/** Allow or deny: names the client and what it asks for. */
export function consentPage (input: ConsentPageInput): Page {
  const items = input.scopes.map((s) => `<li>${escapeHtml(describeScope(s))} <span class="muted">(<code>${escapeHtml(s)}</code>)</span></li>`).join('\n')
  const fields = Object.entries(input.fields).map(([k, v]) => hidden(k, v)).join('')
  const body = `<h1>Allow ${escapeHtml(input.clientName)}?</h1>
<p><strong>${escapeHtml(input.clientName)}</strong> asks for access to your account <strong>${escapeHtml(input.userEmail)}</strong> in ${escapeHtml(input.orgName)}. It will be able to:</p>
<ul>
${items}
</ul>
<p class="muted">You will be returned to <code>${escapeHtml(new URL(input.redirectUri).origin)}</code>. You can withdraw this permission later.</p>
<form method="post" action="${escapeHtml(input.action)}">
${hidden('_csrf', input.csrf)}${fields}
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</form>`
  return { status: 200, html: layout(`Allow ${input.clientName}?`, body), csp: pageCsp([input.redirectUri]) }
}

/** An error that is shown, not redirected: the client or its redirect URI cannot be trusted. */
export function errorPage (status: number, title: string, message: string): Page {
  const body = `<h1>${escapeHtml(title)}</h1>
<p role="alert">${escapeHtml(message)}</p>`
  return { status, html: layout(title, body), csp: pageCsp() }
}

/**
 * 503: the database does not answer or the process is overloaded. Sent with `Retry-After`
 * (RFC 9110 §10.2.3); nothing was changed, so reloading the page is safe (docs/operations.md).
 */
export function unavailablePage (): Page {
  return errorPage(503, 'Briefly unavailable', 'The service is briefly unavailable. Wait a few seconds, then reload the page.')
}

/** The page for an org name that names no org. */
export function unknownOrgPage (name: string): Page {
  return errorPage(404, 'Unknown organization', `There is no organization named ${name.slice(0, 63)}.`)
}

/** Signed in with nothing to resume: who, and a way to sign out. */
export function signedInPage (input: { orgName: string, email: string, logoutAction: string, csrf: string }): Page {
  const body = `<h1>Signed in to ${escapeHtml(input.orgName)}</h1>
<p>You are signed in as <strong>${escapeHtml(input.email)}</strong>.</p>
<form method="post" action="${escapeHtml(input.logoutAction)}">
${hidden('_csrf', input.csrf)}
<button type="submit" class="secondary">Sign out</button>
</form>`
  return { status: 200, html: layout(`Signed in to ${input.orgName}`, body), csp: pageCsp() }
}

/** After logout. */
export function signedOutPage (orgName: string, loginUrl: string): Page {
  const body = `<h1>Signed out</h1>
<p>You are signed out of ${escapeHtml(orgName)}.</p>
<p><a href="${escapeHtml(loginUrl)}">Sign in again</a></p>`
  return { status: 200, html: layout('Signed out', body), csp: pageCsp() }
}
