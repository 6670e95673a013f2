/**
 * The text of a 422 (and of an OAuth `invalid_request`) for a request that failed its route's JSON
 * Schema: the field and the rule it broke, with the rule's bounds (length, range, pattern, allowed
 * values, format), so that a caller can fix the request from the message alone. Built from ajv's
 * error objects and, for the bounds ajv does not report (the other end of a range, the known fields),
 * from the route's schema. Never quotes the value sent: it may be a secret.
 */
import { ID_PATTERN } from '../ids.js'
import { ACCESS_KEY_PATTERN_SOURCE } from '../registry/nodes.js'

/** One ajv error object, as fastify hands it over in `err.validation`. */
export interface AjvIssue {
  instancePath: string
  schemaPath?: string
  keyword: string
  message?: string
  params: Record<string, unknown>
}

/** The patterns the routes use, as rules in words; others are shown as they are. */
const PATTERN_RULES: Record<string, string> = {
  [ID_PATTERN]: "must hold letters, digits, '_' and '-' only",
  '\\S': 'must not be blank',
  '^[a-z0-9-]{1,63}$': "must be 1 to 63 lowercase letters, digits and '-'",
  [ACCESS_KEY_PATTERN_SOURCE]: "must be 1 to 128 letters, digits, '.', '_' and '-', not only dots"
}

/** Formats in words, with an example where the format is not obvious. */
const FORMAT_WORDS: Record<string, string> = {
  email: 'a valid e-mail address',
  'date-time': 'an RFC 3339 date-time, such as 2026-01-31T12:00:00Z',
  date: 'an RFC 3339 date, such as 2026-01-31',
  uri: 'an absolute URI',
  uuid: 'a UUID'
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  array: 'an array',
  object: 'an object',
  null: 'null'
}

/** The field an issue is about, dotted (`redirect_uris.0`, `name`); `body` for the body itself. */
export function paramOf (issue: AjvIssue): string {
  const base = issue.instancePath.replace(/^\//, '').split('/').map(unescapePointer).join('.')
  const child = (issue.params.missingProperty ?? issue.params.additionalProperty) as string | undefined
  return [base, child].filter(Boolean).join('.') || 'body'
}

function unescapePointer (segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~')
}

/**
 * The schema object that holds the failed keyword: ajv's `schemaPath` (`#/properties/name/maxLength`)
 * without its last segment, looked up in the part's schema. Undefined when it cannot be found (a
 * `$ref`'d schema, or no schema at hand): the message then says what ajv's own params say.
 */
function holderOf (root: unknown, schemaPath: string | undefined): Record<string, unknown> | undefined {
  if (root === null || typeof root !== 'object' || !schemaPath?.startsWith('#/')) return undefined
  let node: unknown = root
  for (const segment of schemaPath.slice(2).split('/').slice(0, -1).map(unescapePointer)) {
    if (node === null || typeof node !== 'object') return undefined
    node = (node as Record<string, unknown>)[segment]
  }
  return node !== null && typeof node === 'object' ? node as Record<string, unknown> : undefined
}

const num = (v: unknown): number | undefined => typeof v === 'number' ? v : undefined

/** `1 to 256 characters long`, `at most 100 items`…: the holder's bounds, or the one that failed. */
function sizeRule (holder: Record<string, unknown> | undefined, issue: AjvIssue, family: 'Length' | 'Items'): string {
  const bound = (key: string) => num(holder?.[key]) ?? (issue.keyword === key ? num(issue.params.limit) : undefined)
  const min = bound(`min${family}`)
  const max = bound(`max${family}`)
  const unit = family === 'Length' ? 'character' : 'item'
  const units = (n: number) => `${n} ${n === 1 ? unit : unit + 's'}`
  const ending = family === 'Length' ? ' long' : ''
  if (family === 'Length' && min === 1 && max === undefined) return 'must not be empty'
  if (min !== undefined && max !== undefined) return `must be ${min} to ${units(max)}${ending}`
  if (max !== undefined) return `must be at most ${units(max)}${ending}`
  return `must be at least ${units(min ?? 0)}${ending}`
}

/** `from 1 to 1000`, `at most 1000`, `greater than 0`… from the holder's bounds, or the failed one. */
function rangeRule (holder: Record<string, unknown> | undefined, issue: AjvIssue): string {
  const limit = num(issue.params.limit)
  const min = num(holder?.minimum) ?? (issue.keyword === 'minimum' ? limit : undefined)
  const max = num(holder?.maximum) ?? (issue.keyword === 'maximum' ? limit : undefined)
  if (issue.keyword === 'exclusiveMinimum') return `must be greater than ${String(limit)}`
  if (issue.keyword === 'exclusiveMaximum') return `must be less than ${String(limit)}`
  if (min !== undefined && max !== undefined) return `must be from ${min} to ${max}`
  if (max !== undefined) return `must be at most ${max}`
  return `must be at least ${String(min)}`
}

function patternRule (pattern: string): string {
  const rule = PATTERN_RULES[pattern]
  return rule ? `${rule} (pattern ${pattern})` : `must match the pattern ${pattern}`
}

const quoteList = (values: unknown[]): string => values.map((v) => JSON.stringify(v)).join(', ')

/**
 * The issues at the same place as the first one, when they are the branches of an `anyOf` (or
 * `oneOf`) that failed as a whole: a `Type.Union` of literals fails one `enum` per branch, and the
 * allowed values are all of theirs together.
 */
function branchesOf (issues: readonly AjvIssue[], first: AjvIssue): AjvIssue[] {
  const union = issues.some((i) => (i.keyword === 'anyOf' || i.keyword === 'oneOf') && i.instancePath === first.instancePath)
  return union ? issues.filter((i) => i.instancePath === first.instancePath) : [first]
}

/** The rule the first issue broke, in words (without the field's name). */
function ruleOf (issues: readonly AjvIssue[], root: unknown): string {
  const issue = issues[0]!
  const holder = holderOf(root, issue.schemaPath)
  switch (issue.keyword) {
    case 'required': return 'is required'
    case 'additionalProperties': {
      const known = Object.keys((holder?.properties as Record<string, unknown> | undefined) ?? {})
      return known.length > 0 ? `is not a known field; the fields are ${known.join(', ')}` : 'is not a known field'
    }
    case 'type': {
      const types = branchesOf(issues, issue).filter((i) => i.keyword === 'type').map((i) => String(i.params.type))
      const words = [...new Set(types.flatMap((t) => t.split(',')))].map((t) => TYPE_WORDS[t] ?? t)
      return `must be ${words.join(' or ')}`
    }
    case 'enum':
    case 'const': {
      const allowed = branchesOf(issues, issue).flatMap((i) =>
        i.keyword === 'enum' ? (i.params.allowedValues as unknown[] | undefined) ?? [] : i.keyword === 'const' ? [i.params.allowedValue] : [])
      return allowed.length === 1 ? `must be ${quoteList(allowed)}` : `must be one of ${quoteList(allowed)}`
    }
    case 'minLength':
    case 'maxLength':
      return sizeRule(holder, issue, 'Length')
    case 'minItems':
    case 'maxItems':
      return sizeRule(holder, issue, 'Items')
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return rangeRule(holder, issue)
    case 'pattern': return patternRule(String(issue.params.pattern))
    case 'format': {
      const format = String(issue.params.format)
      return `must be ${FORMAT_WORDS[format] ?? `a valid ${format}`}`
    }
    case 'uniqueItems': return `must not list the same item twice (items ${String(issue.params.j)} and ${String(issue.params.i)} are equal)`
    case 'multipleOf': return `must be a multiple of ${String(issue.params.multipleOf)}`
    default: return issue.message ?? 'is invalid'
  }
}

/**
 * The message for a request that failed validation: `<field> <rule>` (`per_page must be an integer`,
 * `name must be 1 to 256 characters long`, `entity_type must be one of "user", "group"`).
 * `partSchema` is the schema of the part that failed (the route's body, querystring or params schema).
 */
export function validationMessage (issues: readonly AjvIssue[], partSchema?: unknown): { param: string, message: string, missing: boolean } {
  const first = issues[0] ?? { instancePath: '', keyword: '', params: {} }
  const param = paramOf(first)
  if (first.keyword === 'type' && param === 'body' && first.params.type === 'object') {
    return { param, message: 'the body must be a JSON object', missing: false }
  }
  return { param, message: `${param} ${ruleOf(issues.length > 0 ? issues : [first], partSchema)}`, missing: first.keyword === 'required' }
}
