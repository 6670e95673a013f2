import { generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import { normalisePem, parsePublicKeyPem, PublicKeyError } from '../../src/keys/public-key.js'
import { pem, rsaPublicPem } from '../helpers/app.js'

const ec = (namedCurve: string) => pem(generateKeyPairSync('ec', { namedCurve }).publicKey)

t.test('accepted: RSA 2048 SPKI and PKCS#1, RSA 4096, P-256, P-384, Ed25519', async (t) => {
  const cases: Array<[string, string, string]> = [
    ['RSA 2048 SPKI', rsaPublicPem(2048, 'spki'), 'rsa'],
    ['RSA 2048 PKCS#1', rsaPublicPem(2048, 'pkcs1'), 'rsa'],
    ['RSA 4096 SPKI', rsaPublicPem(4096, 'spki'), 'rsa'],
    ['P-256', ec('P-256'), 'ec'],
    ['P-384', ec('P-384'), 'ec'],
    ['Ed25519', pem(generateKeyPairSync('ed25519').publicKey), 'ed25519']
  ]
  for (const [label, text, type] of cases) {
    const key = parsePublicKeyPem(text)
    t.equal(key.type, 'public', label)
    t.equal(key.asymmetricKeyType, type, label)
  }
  t.match(cases[1]![1], /BEGIN RSA PUBLIC KEY/, 'the PKCS#1 case really is PKCS#1')
})

t.test('accepted with CRLF line endings and surrounding whitespace', async (t) => {
  const text = '\n  ' + rsaPublicPem().replace(/\n/g, '\r\n') + '\n\n'
  t.equal(parsePublicKeyPem(text).asymmetricKeyType, 'rsa')
  t.notMatch(normalisePem(text), /\r/, 'normalised without CR')
  t.match(normalisePem(text), /^-----BEGIN PUBLIC KEY-----\n[\s\S]+-----END PUBLIC KEY-----\n$/, 'trimmed, one trailing newline')
})

t.test('refused kinds throw a PublicKeyError saying why', async (t) => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const spki = rsaPublicPem()
  const cases: Array<[string, string, RegExp]> = [
    ['RSA 1024 SPKI', rsaPublicPem(1024, 'spki'), /2048 bits/],
    ['RSA 1024 PKCS#1', rsaPublicPem(1024, 'pkcs1'), /2048 bits/],
    ['P-521', ec('secp521r1'), /P-256 or P-384/],
    ['secp256k1', ec('secp256k1'), /P-256 or P-384/],
    ['X25519', pem(generateKeyPairSync('x25519').publicKey), /RSA, EC .* or Ed25519/],
    ['Ed448', pem(generateKeyPairSync('ed448').publicKey), /RSA, EC .* or Ed25519/],
    ['PKCS#8 private key', rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), /must be a PEM public key/],
    ['PKCS#1 private key', rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), /must be a PEM public key/],
    ['EC private key', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'sec1', format: 'pem' }).toString(), /must be a PEM public key/],
    ['a certificate header', spki.replace(/PUBLIC KEY/g, 'CERTIFICATE'), /must be a PEM public key/],
    ['garbage', 'hello', /must be a PEM public key/],
    ['empty', '', /must be a PEM public key/],
    ['mismatched END line', spki.replace('END PUBLIC KEY', 'END RSA PUBLIC KEY'), /must be a PEM public key/],
    ['text after the PEM', spki + 'trailing text', /must be a PEM public key/],
    ['base64 that is not a key', '-----BEGIN PUBLIC KEY-----\naGVsbG8gd29ybGQ=\n-----END PUBLIC KEY-----\n', /not a readable PEM public key/],
    ['SPKI body under a PKCS#1 header', spki.replace(/PUBLIC KEY/g, 'RSA PUBLIC KEY'), /not a readable PEM public key/]
  ]
  for (const [label, text, message] of cases) {
    let caught: unknown
    try { parsePublicKeyPem(text) } catch (err) { caught = err }
    t.ok(caught instanceof PublicKeyError, `${label}: a PublicKeyError (the REST layer makes it a 422)`)
    t.match(caught, { code: 'ERR_PUBLIC_KEY', message }, label)
  }
})
