// Which tokens may set a credential. Pure, like the policy: facts in, refusal out, no I/O.
//
// A credential is what mints future tokens: a user's `public_key` (it verifies JWT-bearer
// assertions, admin scopes included) and `password` (browser sign-in), and a client's global
// `public_key` (it signs assertions for any eligible user). Whoever sets one can get tokens beyond
// the token it used, so the rule is: no token leads to more than its grant (docs/security.md).

/** What the rule needs to know about the calling token. */
export interface CredentialFacts {
  /**
   * The token was delegated: issued by the browser flow (authorization code or refresh token) of a
   * client that asks for consent (`explicit_authorization_required`), i.e. a third-party app. A
   * JWT-bearer token is not: its holder already signs with a key that the server accepts.
   */
  delegated: boolean
  scopes: readonly string[]
}

/** Scopes that may set credentials; a `self` token reads and edits the profile, not its keys. */
const CREDENTIAL_SCOPES: ReadonlySet<string> = new Set(['user:all', 'admin:all', 'admin-user:all', 'admin-user:all+user:all'])

/** Why the token may not set a credential, or undefined when it may. */
export function credentialChangeRefusal (facts: CredentialFacts): string | undefined {
  if (facts.delegated) {
    return 'a token that a user gave a third-party client (through consent) cannot set credentials: public keys and passwords'
  }
  if (!facts.scopes.some((s) => CREDENTIAL_SCOPES.has(s))) {
    return 'setting credentials (public keys, passwords) needs a token with scope user:all or an admin scope'
  }
  return undefined
}
