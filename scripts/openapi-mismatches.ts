// Groups the responses that a run in report mode (OPENAPI_RESPONSE_CHECK=report, the default for now)
// found off openapi.yaml: one line per operation, status and kind, with how many responses, the
// findings and the test files that saw them (test/helpers/openapi-hook.ts writes the file).
// Usage: tsx scripts/openapi-mismatches.ts [file]   (default .tap/openapi-mismatches.jsonl)
// Exit 0 with nothing found, 1 otherwise.
import fs from 'node:fs'
import { MISMATCH_FILE, type Mismatch } from '../test/helpers/openapi-check.js'

const file = process.argv[2] ?? MISMATCH_FILE
const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : ''
const rows = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Mismatch & { file: string })

interface Group { kind: string, key: string, count: number, details: Set<string>, files: Set<string> }
const groups = new Map<string, Group>()
for (const r of rows) {
  const key = `${r.method} ${r.operation} ${r.status}`
  const id = `${r.kind} ${key}`
  const g = groups.get(id) ?? { kind: r.kind, key, count: 0, details: new Set<string>(), files: new Set<string>() }
  g.count++
  g.details.add(r.detail)
  g.files.add(r.file)
  groups.set(id, g)
}

const out = (s: string): void => { process.stdout.write(s + '\n') }
out(`${rows.length} responses off openapi.yaml, in ${groups.size} groups (${file})`)
const sorted = [...groups.values()].sort((a, b) => a.kind.localeCompare(b.kind) || a.key.localeCompare(b.key))
let kind = ''
for (const g of sorted) {
  if (g.kind !== kind) out(`\n${kind = g.kind}:`)
  out(`  ${g.key}  ×${g.count}  [${[...g.files].join(', ')}]`)
  for (const d of [...g.details].slice(0, 3)) out(`      ${d}`)
  if (g.details.size > 3) out(`      … ${g.details.size - 3} other findings`)
}
process.exit(rows.length > 0 ? 1 : 0)
