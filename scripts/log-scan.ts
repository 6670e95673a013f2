// After the suite (scripts/test.mjs): searches every log line the test processes captured for every
// credential they recorded (test/helpers/log-capture.ts writes both, test/helpers/log-scan.ts scans).
// Usage: tsx scripts/log-scan.ts <capture dir> [--allow-empty]
// Exit 0: scanned, nothing found. Exit 1: a value was found in a log, or nothing was scanned (a scan
// of nothing asserts nothing). Exit 2: nothing was scanned and --allow-empty was given (a run of a
// few named files may build no app), which the caller reports as skipped.
import { describeHit, scanCaptureDir } from '../test/helpers/log-scan.js'

const MAX_SHOWN = 50

const dir = process.argv[2]
if (!dir) throw new Error('usage: log-scan.ts <capture dir> [--allow-empty]')
const allowEmpty = process.argv.includes('--allow-empty')
const started = process.hrtime.bigint()
const r = await scanCaptureDir(dir)
const seconds = Number(process.hrtime.bigint() - started) / 1e9
const out = (s: string): void => { process.stdout.write(s + '\n') }

out(`log scan: ${r.lines} log lines (${(r.bytes / 1e6).toFixed(1)} MB in ${r.logFiles} files) searched for ${r.values} recorded values ` +
  `(${r.needles} encodings, from ${r.valueFiles} processes) in ${seconds.toFixed(2)} s`)
if (r.hits.length > 0) {
  out(`log scan: FAILED: ${r.hits.length} recorded value(s) found in the logs:`)
  for (const h of r.hits.slice(0, MAX_SHOWN)) out(`  ${describeHit(h)}`)
  if (r.hits.length > MAX_SHOWN) out(`  … and ${r.hits.length - MAX_SHOWN} more`)
  process.exit(1)
}
if (r.lines === 0 || r.values === 0) {
  out(`log scan: ${allowEmpty ? 'skipped' : 'FAILED'}: the capture in ${dir} holds ${r.lines === 0 ? 'no log line' : 'no recorded value'}, so the scan checked nothing`)
  process.exit(allowEmpty ? 2 : 1)
}
out('log scan: passed, no recorded value is in any log line')
