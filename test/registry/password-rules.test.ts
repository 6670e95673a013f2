import t from 'tap'
import { InvalidParameterError } from '../../src/errors.js'
import { checkPasswordRules, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../src/registry/password-rules.js'

const email = 'Alice@Example.com'

/** The error the rules throw for this password, or undefined when it passes. */
function problem (password: string, param?: string): InvalidParameterError | undefined {
  try {
    checkPasswordRules(password, email, param)
    return undefined
  } catch (err) {
    if (err instanceof InvalidParameterError) return err
    throw err
  }
}

t.test('the limits are 8 and 256', async (t) => {
  t.equal(PASSWORD_MIN_LENGTH, 8)
  t.equal(PASSWORD_MAX_LENGTH, 256)
})

t.test('passwords within the rules pass', async (t) => {
  for (const ok of ['12345678', 'x'.repeat(256), 'correct horse battery staple', 'pässwörd', '        ', 'alice@example.co', `${email}!`]) {
    t.equal(problem(ok), undefined, JSON.stringify(ok.length > 40 ? `${ok.length} characters` : ok))
  }
})

t.test('each violation is a 422 invalid_parameter naming the param and saying the rule', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['empty: too short', '', /at least 8 characters/],
    ['7 characters: too short', '1234567', /at least 8 characters/],
    ['257 characters: too long', 'x'.repeat(257), /at most 256 characters/],
    ['the e-mail exactly', email, /must not be the user's e-mail/],
    ['the e-mail in another case', 'alice@EXAMPLE.COM', /must not be the user's e-mail/]
  ]
  for (const [label, password, rule] of cases) {
    const err = problem(password)
    t.ok(err, label)
    t.equal(err?.statusCode, 422, label)
    t.equal(err?.code, 'invalid_parameter', label)
    t.equal(err?.param, 'password', label)
    t.match(err?.message, rule, label)
    t.match(err?.message, /^password /, `${label}: the message names the field`)
  }
})

t.test('the param is the caller\'s to name (new_password on the self route)', async (t) => {
  const err = problem('short', 'new_password')
  t.equal(err?.param, 'new_password')
  t.match(err?.message, /^new_password must be at least 8 characters/)
})

t.test('lengths count code points, not UTF-16 units', async (t) => {
  const emoji = '\u{1F600}' // two UTF-16 units, one code point
  t.equal(emoji.length, 2)
  t.match(problem(emoji.repeat(7))?.message, /at least 8/, '7 emoji (14 units) are too short')
  t.equal(problem(emoji.repeat(8)), undefined, '8 emoji pass')
  t.equal(problem(emoji.repeat(256)), undefined, '256 emoji (512 units) pass')
  t.match(problem(emoji.repeat(257))?.message, /at most 256/, '257 emoji are too long')
})

t.test('the rules never echo the password', async (t) => {
  for (const password of ['secret1', 'y'.repeat(300), email]) {
    const err = problem(password)
    t.ok(err)
    t.notMatch(err!.message, password)
  }
})
