#!/usr/bin/env node
// The top of a V8 CPU profile (node --cpu-prof), by self time: per package or file, and per function.
// `node scripts/profile-top.mjs <file.cpuprofile> [phases.json phase-name] [rows]`: with the phases
// file that `BENCH_CPU_PROF=<dir> npm run bench` writes, only the samples taken during that phase
// count (start-up, schema compilation and the other phases left out). Idle time is left out of the
// shares: they are of the time the main thread was busy.
import fs from 'node:fs'

const [file, phasesFile, phaseName, rowsArg] = process.argv.slice(2)
if (!file) {
  console.error('usage: profile-top.mjs <file.cpuprofile> [phases.json phase-name] [rows]')
  process.exit(2)
}
const profile = JSON.parse(fs.readFileSync(file, 'utf8'))
let window = { startUs: -Infinity, endUs: Infinity }
if (phasesFile) {
  const phases = JSON.parse(fs.readFileSync(phasesFile, 'utf8'))
  const found = phases.find((p) => p.name === phaseName)
  if (!found) {
    console.error(`no phase '${phaseName}' in ${phasesFile}: ${phases.map((p) => p.name).join(', ')}`)
    process.exit(2)
  }
  window = found
}
const rows = Number(rowsArg ?? 25)

const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
const selfUs = new Map()
let t = profile.startTime
for (let i = 0; i < profile.samples.length; i++) {
  t += profile.timeDeltas[i] ?? 0
  if (t < window.startUs || t > window.endUs) continue
  const id = profile.samples[i]
  // A sample's time is the gap to the next one.
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0))
}

const byFile = new Map()
const byFunction = new Map()
let busy = 0
let idle = 0
for (const [id, us] of selfUs) {
  const frame = nodes.get(id).callFrame
  if (frame.functionName === '(idle)') { idle += us; continue }
  busy += us
  const url = frame.url.replace(/^file:\/\//, '')
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  const where = pkg ? `npm ${pkg[1]}` : url.includes('/dist/') ? url.replace(/^.*\/dist\//, 'src/').replace(/\.js$/, '.ts') : (url || frame.functionName)
  byFile.set(where, (byFile.get(where) ?? 0) + us)
  const fn = `${frame.functionName || '(anonymous)'}  ${pkg ? `npm ${pkg[1]}` : where}:${frame.lineNumber + 1}`
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + us)
}

const top = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, rows).map(([k, us]) => `${(100 * us / busy).toFixed(1).padStart(5)} %  ${k}`).join('\n')
console.log(`${phaseName ?? 'whole profile'}: main thread busy ${(busy / 1000).toFixed(0)} ms of ${((busy + idle) / 1000).toFixed(0)} ms`)
console.log('--- self time by package or file')
console.log(top(byFile))
console.log('--- self time by function')
console.log(top(byFunction))
