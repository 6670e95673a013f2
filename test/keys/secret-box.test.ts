import t from 'tap'
import { SecretBox } from '../../src/keys/secret-box.js'

const box = new SecretBox(Buffer.alloc(32, 1))
const otherKey = new SecretBox(Buffer.alloc(32, 2))

/** The box with one bit flipped in part `i` (1 iv, 2 ciphertext, 3 tag). */
function flip (sealed: string, i: number): string {
  const parts = sealed.split('.')
  const bytes = Buffer.from(parts[i]!, 'base64url')
  bytes[0] = bytes[0]! ^ 1
  parts[i] = bytes.toString('base64url')
  return parts.join('.')
}

t.test('encrypt then decrypt gives the plaintext back, unicode and empty included', async (t) => {
  for (const text of ['s3cr3t', '', 'é€🔑 with spaces', 'x'.repeat(10_000)]) {
    const sealed = box.encrypt(text, 'ctx')
    t.match(sealed, /^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+$/, 'v1.<iv>.<ct>.<tag>, base64url')
    t.notOk(text.length > 0 && sealed.includes(text), 'the plaintext does not show')
    t.equal(box.decrypt(sealed, 'ctx'), text)
  }
})

t.test('two encryptions of the same text differ (fresh IV), and both decrypt', async (t) => {
  const a = box.encrypt('same', 'ctx')
  const b = box.encrypt('same', 'ctx')
  t.not(a, b)
  t.equal(box.decrypt(a, 'ctx'), 'same')
  t.equal(box.decrypt(b, 'ctx'), 'same')
})

t.test('a tampered IV, ciphertext or tag is refused', async (t) => {
  const sealed = box.encrypt('do not touch', 'ctx')
  t.throws(() => box.decrypt(flip(sealed, 1), 'ctx'), 'IV')
  t.throws(() => box.decrypt(flip(sealed, 2), 'ctx'), 'ciphertext')
  t.throws(() => box.decrypt(flip(sealed, 3), 'ctx'), 'tag')
  const [, iv, ct] = sealed.split('.')
  t.throws(() => box.decrypt(['v1', iv, ct, ''].join('.'), 'ctx'), 'an empty tag')
})

t.test('a malformed box or another version is refused', async (t) => {
  const sealed = box.encrypt('x', 'ctx')
  t.throws(() => box.decrypt('garbage', 'ctx'), { message: 'unrecognised secret box' })
  t.throws(() => box.decrypt(sealed.replace(/^v1/, 'v2'), 'ctx'), { message: 'unrecognised secret box' })
  t.throws(() => box.decrypt(sealed.split('.').slice(0, 3).join('.'), 'ctx'), { message: 'unrecognised secret box' })
})

t.test('a box moved to another context does not decrypt', async (t) => {
  const sealed = box.encrypt('client A secret', 'clients.secret:A')
  t.throws(() => box.decrypt(sealed, 'clients.secret:B'))
  t.throws(() => box.decrypt(sealed, ''))
  t.equal(box.decrypt(sealed, 'clients.secret:A'), 'client A secret')
})

t.test('another key does not decrypt', async (t) => {
  const sealed = box.encrypt('mine', 'ctx')
  t.throws(() => otherKey.decrypt(sealed, 'ctx'))
  t.equal(new SecretBox(Buffer.alloc(32, 1)).decrypt(sealed, 'ctx'), 'mine', 'the same key in a new box does')
})

t.test('the key must be 32 bytes', async (t) => {
  t.throws(() => new SecretBox(Buffer.alloc(16)), { message: /32 bytes/ })
  t.throws(() => new SecretBox(Buffer.alloc(33)), { message: /32 bytes/ })
})

t.test('hash is stable per key, base64url, and differs across keys and inputs', async (t) => {
  const h = box.hash('secret')
  t.match(h, /^[A-Za-z0-9_-]{43}$/, 'HMAC-SHA256 as base64url')
  t.equal(box.hash('secret'), h, 'same input, same hash')
  t.equal(new SecretBox(Buffer.alloc(32, 1)).hash('secret'), h, 'stable across instances with the same key')
  t.not(box.hash('secret2'), h)
  t.not(otherKey.hash('secret'), h, 'another key gives another hash')
})

t.test('verify is true only for the secret that was hashed, under the same key', async (t) => {
  const h = box.hash('right')
  t.equal(box.verify('right', h), true)
  t.equal(box.verify('wrong', h), false)
  t.equal(box.verify('Right', h), false)
  t.equal(box.verify('', h), false)
  t.equal(otherKey.verify('right', h), false, 'another key')
  t.equal(box.verify('right', h.slice(0, -2)), false, 'a truncated stored hash')
  t.equal(box.verify('right', ''), false, 'an empty stored hash')
  t.equal(box.verify('right', 'not base64url!'), false, 'a garbage stored hash')
})
