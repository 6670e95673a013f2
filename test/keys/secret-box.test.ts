import t from 'tap'
import { SecretBox, SecretBoxError } from '../../src/keys/secret-box.js'

const box = new SecretBox(Buffer.alloc(32, 1))
const otherKey = new SecretBox(Buffer.alloc(32, 2))

/** Made by the box before keys could rotate (format v1, no key id), under Buffer.alloc(32, 1), context 'ctx'. */
const LEGACY = {
  plaintext: 'made before keys could rotate',
  box: 'v1.8F2BM746LVrH2HLp.NgDawU-06fGjcAmH61LSlPUaf39ZImP2upnP678.GOSvAwfd2R5OjQOFr3706Q',
  hash: 'DGYcHRWmrlGYZhphQNErDanVZQlFhBFvH6e6y6wbT1U'
}

/** The box with one bit flipped in part `i` (2 iv, 3 ciphertext, 4 tag; 1 fewer in a v1 box). */
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
    t.match(sealed, /^v2\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{22}$/, 'v2.<key id>.<iv>.<ct>.<tag>, base64url')
    t.ok(sealed.startsWith(`v2.${box.keyId}.`), 'the key id is the box\'s')
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
  t.throws(() => box.decrypt(flip(sealed, 2), 'ctx'), { code: 'ERR_SECRET_BOX_OPEN' }, 'IV')
  t.throws(() => box.decrypt(flip(sealed, 3), 'ctx'), { code: 'ERR_SECRET_BOX_OPEN' }, 'ciphertext')
  t.throws(() => box.decrypt(flip(sealed, 4), 'ctx'), { code: 'ERR_SECRET_BOX_OPEN' }, 'tag')
  const [v, id, iv, ct, tag] = sealed.split('.')
  t.throws(() => box.decrypt([v, id, iv, ct, ''].join('.'), 'ctx'), { code: 'ERR_SECRET_BOX_FORMAT' }, 'an empty tag')
  t.throws(() => box.decrypt([v, id, iv, ct, tag!.slice(0, 11)].join('.'), 'ctx'), { code: 'ERR_SECRET_BOX_FORMAT' }, 'a truncated tag')
  t.throws(() => box.decrypt(flip(LEGACY.box, 3), 'ctx'), { code: 'ERR_SECRET_BOX_OPEN' }, 'a v1 box too')
})

t.test('a malformed box or another version is refused', async (t) => {
  const sealed = box.encrypt('x', 'ctx')
  t.throws(() => box.decrypt('garbage', 'ctx'), { message: 'unrecognised secret box' })
  t.throws(() => box.decrypt(sealed.replace(/^v2/, 'v3'), 'ctx'), { message: 'unrecognised secret box', code: 'ERR_SECRET_BOX_FORMAT' })
  t.throws(() => box.decrypt(sealed.replace(/^v2/, 'v1'), 'ctx'), { message: 'unrecognised secret box' }, 'a v2 box labelled v1')
  t.throws(() => box.decrypt(LEGACY.box.replace(/^v1/, 'v2'), 'ctx'), { message: 'unrecognised secret box' }, 'a v1 box labelled v2')
  t.throws(() => box.decrypt(sealed.split('.').slice(0, 4).join('.'), 'ctx'), { message: 'unrecognised secret box' })
  t.throws(() => box.decrypt(sealed.replace(/\.([^.]*)$/, '.!$1'), 'ctx'), { message: 'unrecognised secret box' }, 'not base64url')
})

t.test('a box moved to another context does not decrypt', async (t) => {
  const sealed = box.encrypt('client A secret', 'clients.secret:A')
  t.throws(() => box.decrypt(sealed, 'clients.secret:B'))
  t.throws(() => box.decrypt(sealed, ''))
  t.equal(box.decrypt(sealed, 'clients.secret:A'), 'client A secret')
})

t.test('another key does not decrypt', async (t) => {
  const sealed = box.encrypt('mine', 'ctx')
  t.throws(() => otherKey.decrypt(sealed, 'ctx'), { code: 'ERR_SECRET_BOX_UNKNOWN_KEY', message: `the secret was encrypted under key id ${box.keyId}, which SECRET_ENCRYPTION_KEY does not list` })
  t.equal(new SecretBox(Buffer.alloc(32, 1)).decrypt(sealed, 'ctx'), 'mine', 'the same key in a new box does')
  t.throws(() => otherKey.decrypt(LEGACY.box, 'ctx'), { code: 'ERR_SECRET_BOX_OPEN', message: /opens under none of the keys/ }, 'nor a v1 box')
})

t.test('the key must be 32 bytes', async (t) => {
  t.throws(() => new SecretBox(Buffer.alloc(16)), { message: /32 bytes/ })
  t.throws(() => new SecretBox(Buffer.alloc(33)), { message: /32 bytes/ })
  t.throws(() => new SecretBox([Buffer.alloc(32, 1), Buffer.alloc(31, 2)]), { message: /32 bytes/ }, 'each key of a list')
  t.throws(() => new SecretBox([]), { message: /at least one key/ })
  t.throws(() => new SecretBox([Buffer.alloc(32, 1), Buffer.alloc(32, 1)]), { message: /differ/ }, 'the same key twice')
})

t.test('hash is stable per key, base64url, and differs across keys and inputs', async (t) => {
  const h = box.hash('secret')
  t.match(h, /^v2\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]{43}$/, 'v2.<key id>.<HMAC-SHA256 as base64url>')
  t.ok(box.isCurrent(h))
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

t.test('a box and a hash made before keys could rotate (v1) are still read, under any key of the list', async (t) => {
  t.equal(box.decrypt(LEGACY.box, 'ctx'), LEGACY.plaintext, 'under its one key')
  t.equal(box.verify(LEGACY.plaintext, LEGACY.hash), true)
  t.equal(box.verify('another', LEGACY.hash), false)
  const rotated = new SecretBox([Buffer.alloc(32, 9), Buffer.alloc(32, 2), Buffer.alloc(32, 1)])
  t.equal(rotated.decrypt(LEGACY.box, 'ctx'), LEGACY.plaintext, 'its key third in a list')
  t.equal(rotated.verify(LEGACY.plaintext, LEGACY.hash), true)
  t.throws(() => rotated.decrypt(LEGACY.box, 'other ctx'), { code: 'ERR_SECRET_BOX_OPEN' }, 'the context still binds it')
  t.equal(rotated.isCurrent(LEGACY.box), false, 'keys reencrypt rewrites it')
  t.equal(rotated.isCurrent(LEGACY.hash), false)
  t.equal(box.isCurrent(LEGACY.box), false, 'even under its own key: it names none')
})

t.test('a list: the first key encrypts and hashes, every key decrypts and verifies what it made', async (t) => {
  const [oldKey, newKey] = [Buffer.alloc(32, 1), Buffer.alloc(32, 8)]
  const before = new SecretBox(oldKey)
  const sealed = before.encrypt('kept across the rotation', 'ctx')
  const hashed = before.hash('kept across the rotation')
  const during = new SecretBox([newKey, oldKey])
  t.equal(during.decrypt(sealed, 'ctx'), 'kept across the rotation', 'the old key\'s box, after the list changed')
  t.equal(during.verify('kept across the rotation', hashed), true, 'the old key\'s hash')
  t.equal(during.verify('wrong', hashed), false)
  t.equal(during.isCurrent(sealed), false)
  t.not(during.keyId, before.keyId)
  t.equal(during.keyId, new SecretBox(newKey).keyId, 'the id is the first key\'s, whatever follows it')
  const fresh = during.encrypt('new', 'ctx')
  const freshHash = during.hash('new')
  t.ok(fresh.startsWith(during.currentPrefix) && during.isCurrent(fresh) && during.isCurrent(freshHash), 'made under the new key')
  const after = new SecretBox(newKey)
  t.equal(after.decrypt(fresh, 'ctx'), 'new', 'the new key alone opens it')
  t.equal(after.verify('new', freshHash), true)
  t.throws(() => before.decrypt(fresh, 'ctx'), { code: 'ERR_SECRET_BOX_UNKNOWN_KEY' }, 'the old key alone does not')
  t.equal(before.verify('new', freshHash), false)
  t.throws(() => after.decrypt(sealed, 'ctx'), SecretBoxError, 'the old box needs the old key in the list')
  t.equal(after.verify('kept across the rotation', hashed), false)
  t.equal(new SecretBox([oldKey, newKey]).decrypt(fresh, 'ctx'), 'new', 'list order does not matter for reading')
})

t.test('a hash naming a key the list lacks, or malformed, verifies nothing', async (t) => {
  const h = box.hash('right')
  t.equal(box.verify('right', h.replace(box.keyId, otherKey.keyId)), false, 'another key\'s id')
  t.equal(box.verify('right', h.replace(/^v2/, 'v3')), false, 'another version')
  t.equal(box.verify('right', h + '.x'), false, 'an extra part')
})
