#!/usr/bin/env node
// Checks the store layer's rule (docs/architecture.md): each table is named in SQL by one module
// only, src/store/<table>.ts, and no module outside src/store/ and src/db/ builds SQL at all.
// A table is "named in SQL" by a kysely table reference (selectFrom('users'), leftJoin('users as u'))
// or inside a sql`` template. Exits 1 with the offending lines listed.
import fs from 'node:fs'
import path from 'node:path'

const root = path.dirname(path.dirname(new URL(import.meta.url).pathname))
const schema = fs.readFileSync(path.join(root, 'src/db/schema.ts'), 'utf8')
const dbInterface = /export interface Database \{([^}]*)\}/.exec(schema)
if (!dbInterface) throw new Error('no Database interface in src/db/schema.ts')
const tables = [...dbInterface[1].matchAll(/^\s*([a-z_]+):/gm)].map((m) => m[1])

function * files (dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) yield * files(full)
    else if (entry.name.endsWith('.ts')) yield full
  }
}

const problems = []
const sqlBuilders = /\b(selectFrom|insertInto|updateTable|deleteFrom|mergeInto|with)\(|\bsql(<[^>]*>)?`/
for (const file of files(path.join(root, 'src'))) {
  const rel = path.relative(root, file)
  if (rel === 'src/db/schema.ts') continue
  const text = fs.readFileSync(file, 'utf8')
  const inStore = rel.startsWith('src/store/')
  const inDb = rel.startsWith('src/db/')
  text.split('\n').forEach((line, i) => {
    const where = `${rel}:${i + 1}: ${line.trim()}`
    if (!inStore && !inDb && sqlBuilders.test(line)) problems.push(`SQL outside src/store and src/db: ${where}`)
    for (const t of tables) {
      const owner = `src/store/${t.replace(/_/g, '-')}.ts`
      if (rel === owner) continue
      const asReference = new RegExp(`\\b(selectFrom|insertInto|updateTable|deleteFrom|mergeInto|innerJoin|leftJoin|rightJoin|fullJoin|from|using)\\(\\s*\\[?'${t}( as [a-z_]+)?'`).test(line)
      const inTemplate = /\bsql(<[^>]*>)?`/.test(line) && new RegExp(`\\b${t}\\b`).test(line)
      if (asReference || inTemplate) problems.push(`table ${t} named outside ${owner}: ${where}`)
    }
  })
}

for (const t of tables) {
  if (!fs.existsSync(path.join(root, `src/store/${t.replace(/_/g, '-')}.ts`))) problems.push(`table ${t} has no owner module src/store/${t.replace(/_/g, '-')}.ts`)
}

if (problems.length > 0) {
  console.log(problems.join('\n'))
  console.log(`${problems.length} problem(s): see docs/architecture.md, "One owner per table"`)
  process.exit(1)
}
console.log(`${tables.length} tables, each named in SQL by its owner in src/store/ only`)
