// The values the OpenAPI document's examples share, so that one example's ids are another's: the
// user of a membership is the user of GET /users. Shapes as the server makes them (ids.ts: 22
// characters of base64url; secrets 43) and names as AoC has them (docs/aoc-compatibility.md).

/** Example ids, each as `newId()` makes one. */
export const EXAMPLE = {
  orgId: 'kX2mQ7bVw9TqL4sN1pRz0A',
  adminId: 'Hc8JtW3nYq5ZrB0eLmK7uQ',
  userId: 'p4VzR1sXk8GdN6wTq2MjcA',
  groupId: 'Gq7LwB2xN5vTz9RcK0mY3g',
  membershipId: 'Mb3ZtQ8wR1nVx6KcL4pJ0w',
  nodeId: 'Nd6YpK2rT9wQz4LmB1xV8a',
  clientId: 'Fq3nWv8tYb2LcZr5KpXe0A',
  clientAuthorizationId: 'Ca9RxT4mW2kZq7NbV5pL1g',
  consentId: 'Co1KwZ6tR3xQm8VbN2pY5h',
  eventId: 'Ev5TqM0wK7zR2xNb9LpY4c',
  /** Not a real secret: the shape of one. */
  clientSecret: 'x7Kp2Wq9Lm4Zt8Rv1Nb6Yc3Hs5Jd0Fg-Ae_Tu2Qw7Io',
  email: 'jane.doe@example.com',
  adminEmail: 'admin@example.com',
  org: 'acme',
  accessKey: 'A1bC2dE3fG4hI5jK',
  created: '2026-11-30T09:15:22.000Z',
  updated: '2026-12-01T14:03:51.000Z',
  /** An RSA public key in PEM, as ascli sets it (shortened to its first line of base64). */
  publicKey: '-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo\n-----END PUBLIC KEY-----\n',
  /** An access token's shape: a compact JWS (header.claims.signature), cut short. */
  accessToken: 'eyJhbGciOiJFUzI1NiIsImtpZCI6IjNmOWMyYSJ9.eyJpc3MiOiJodHRwczovL2F1dGguZXhhbXBsZS5jb20vYXBpL3YxL29hdXRoMi9hY21lIn0.MEUCIQDx',
  /** An RS256 assertion as ascli signs one, cut short. */
  assertion: 'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJGcTNuV3Y4dFliMkxjWnI1S3BYZTBBIiwic3ViIjoiamFuZS5kb2VAZXhhbXBsZS5jb20ifQ.Zm9vYmFy',
  refreshToken: 'Vb7Qk2Lw9Zx4Tm1Rn8Yp3Hc6Jd0Fs5Ge-Au_Ki2Ow7P',
  code: 'Lq4Wz9Tm2Rx7Vb1Np6Yk3Hc8Jd5Fs0Ge_Xu-Ri4Oa9C'
} as const
