// The log scan: every value the tests recorded (client secrets, passwords, private keys, assertions,
// tokens, codes, verifiers) is searched in every log line captured during the run. The files are
// written by log-capture.ts in each test process; scripts/log-scan.ts runs the scan after the suite.
import fs from 'node:fs'
import path from 'node:path'

/**
 * Values shorter than this are neither recorded nor searched: a short test value ("x", "wrong") would
 * match log text by chance. Every credential the server hands out is far longer.
 */
export const MIN_VALUE_LENGTH = 16

/** A capture file's suffix: the log lines of one test process. */
export const LOG_SUFFIX = '.log'
/** A values file's suffix: one JSON object ({ kind, value }) a line, recorded by the same process. */
export const VALUES_SUFFIX = '.values'

export interface RecordedValue { kind: string, value: string }

/** One value found in one log line. Never holds the value itself, only a short prefix of it. */
export interface Hit { kind: string, prefix: string, file: string, line: number, field: string | undefined }

export interface ScanResult {
  logFiles: number
  lines: number
  bytes: number
  valueFiles: number
  /** distinct recorded values at least MIN_VALUE_LENGTH long */
  values: number
  /** the strings searched: each value as written, and as JSON or a form would encode it */
  needles: number
  hits: Hit[]
}

/** How a report shows a value: its first characters only, so the scan never prints a secret. */
export const PREFIX_LENGTH = 6

const JWT = /^[\w-]+\.[\w-]+\.([\w-]+)$/

/**
 * The strings that betray `value` in a log line: the value itself, its JSON-escaped and URL-encoded
 * forms (a log line is JSON; a logged URL or body is encoded), and a JWT's signature alone (a token
 * cut short still shows it). Each at least MIN_VALUE_LENGTH long, none spanning lines.
 */
export function needlesOf (value: string): string[] {
  const forms = new Set([value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value), new URLSearchParams({ v: value }).toString().slice(2)])
  const signature = JWT.exec(value)?.[1]
  if (signature) forms.add(signature)
  return [...forms].filter((n) => n.length >= MIN_VALUE_LENGTH && !n.includes('\n'))
}

/** The values of `.values` files' text, deduplicated (the first kind recorded wins), short ones dropped. */
export function parseValues (texts: Iterable<string>): Map<string, string> {
  const byValue = new Map<string, string>()
  for (const text of texts) {
    for (const line of text.split('\n')) {
      if (!line) continue
      let rec: Partial<RecordedValue>
      try { rec = JSON.parse(line) as Partial<RecordedValue> } catch { continue } // a line cut short by a killed process
      if (typeof rec.value !== 'string' || typeof rec.kind !== 'string' || rec.value.length < MIN_VALUE_LENGTH) continue
      if (!byValue.has(rec.value)) byValue.set(rec.value, rec.kind)
    }
  }
  return byValue
}

// Rabin-Karp over windows of MIN_VALUE_LENGTH characters: one rolling hash a character, checked
// against a bit filter, then a map; only a candidate is compared. The cost is one pass over the logs
// whatever the number of values (hundreds of MB of logs, tens of thousands of values).
const W = MIN_VALUE_LENGTH
const BASE = 0x01000193
const BASE_W1 = (() => { let p = 1; for (let i = 1; i < W; i++) p = Math.imul(p, BASE); return p })()
const FILTER_BITS = 24

function windowHash (s: string, start: number): number {
  let h = 0
  for (let j = start; j < start + W; j++) h = (Math.imul(h, BASE) + s.charCodeAt(j)) | 0
  return h
}

interface Needle { needle: string, value: string, kind: string }

/** The searcher over a set of values: `find` answers the values present in a line. */
export class Needles {
  readonly size: number
  private readonly byHash = new Map<number, Needle[]>()
  private readonly filter = new Uint8Array(1 << (FILTER_BITS - 3))

  constructor (values: Map<string, string>) {
    let n = 0
    for (const [value, kind] of values) {
      for (const needle of needlesOf(value)) {
        const h = windowHash(needle, 0)
        const list = this.byHash.get(h)
        if (list) list.push({ needle, value, kind })
        else this.byHash.set(h, [{ needle, value, kind }])
        const bit = h >>> (32 - FILTER_BITS)
        this.filter[bit >>> 3]! |= 1 << (bit & 7)
        n++
      }
    }
    this.size = n
  }

  /** The values found in `line`, each once, with the column of its first needle found. */
  find (line: string): Array<{ value: string, kind: string, column: number }> {
    const found: Array<{ value: string, kind: string, column: number }> = []
    if (line.length < W) return found
    let h = windowHash(line, 0)
    for (let i = 0; ; i++) {
      const bit = h >>> (32 - FILTER_BITS)
      if ((this.filter[bit >>> 3]! & (1 << (bit & 7))) !== 0) {
        for (const c of this.byHash.get(h) ?? []) {
          if (line.startsWith(c.needle, i) && !found.some((f) => f.value === c.value)) found.push({ value: c.value, kind: c.kind, column: i })
        }
      }
      if (i + W >= line.length) break
      h = (Math.imul((h - Math.imul(line.charCodeAt(i), BASE_W1)) | 0, BASE) + line.charCodeAt(i + W)) | 0
    }
    return found
  }
}

/** The JSON field a hit sits in, when the line is JSON: a name is safe to print, the value is not. */
function fieldBefore (line: string, column: number): string | undefined {
  return /"([\w.-]{1,40})"\s*:\s*"?(?:[^"\\]|\\.)*$/.exec(line.slice(Math.max(0, column - 200), column))?.[1]
}

/** Scans the lines of one file, streaming (a capture file may be large). */
async function scanFile (file: string, needles: Needles, label: string, hits: Hit[]): Promise<number> {
  let lineNo = 0
  let rest = ''
  const scanLine = (line: string): void => {
    lineNo++
    for (const f of needles.find(line)) {
      hits.push({ kind: f.kind, prefix: f.value.slice(0, PREFIX_LENGTH), file: label, line: lineNo, field: fieldBefore(line, f.column) })
    }
  }
  for await (const chunk of fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const parts = (rest + (chunk as string)).split('\n')
    rest = parts.pop()!
    for (const line of parts) scanLine(line)
  }
  if (rest) scanLine(rest)
  return lineNo
}

/** Every value of every `.values` file in `dir` searched in every line of every `.log` file there. */
export async function scanCaptureDir (dir: string): Promise<ScanResult> {
  const names = fs.readdirSync(dir).sort()
  const valueFiles = names.filter((n) => n.endsWith(VALUES_SUFFIX))
  const logFiles = names.filter((n) => n.endsWith(LOG_SUFFIX))
  const values = parseValues(valueFiles.map((n) => fs.readFileSync(path.join(dir, n), 'utf8')))
  const needles = new Needles(values)
  const hits: Hit[] = []
  let lines = 0
  let bytes = 0
  for (const name of logFiles) {
    const file = path.join(dir, name)
    bytes += fs.statSync(file).size
    lines += await scanFile(file, needles, file, hits)
  }
  return { logFiles: logFiles.length, lines, bytes, valueFiles: valueFiles.length, values: values.size, needles: needles.size, hits }
}

/** A hit as the report prints it: kind, a prefix of the value, where. */
export function describeHit (h: Hit): string {
  return `${h.kind} "${h.prefix}…" in ${h.file}:${h.line}${h.field ? ` (field "${h.field}")` : ''}`
}
