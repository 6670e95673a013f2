/**
 * What the host gave the bench, so runs on different days can be compared: the speed of one core
 * at the token endpoint's two costly operations, and how the machine's CPU time was spent during
 * a phase (a shared VM loses time to its neighbours as "steal").
 */
import { createSign, createVerify, generateKeyPairSync, sign, verify } from 'node:crypto'
import fs from 'node:fs'

/** Operations per second on one core: the RS256 check of an assertion and the ES256 signature of a token. */
export interface CoreSpeed { rs256VerifyPerS: number, es256SignPerS: number }

function rate (ms: number, fn: () => void): number {
  for (let i = 0; i < 200; i++) fn() // warm the JIT and OpenSSL's tables
  let n = 0
  const start = performance.now()
  let elapsed = 0
  while (elapsed < ms) {
    for (let i = 0; i < 100; i++) fn()
    n += 100
    elapsed = performance.now() - start
  }
  return n / (elapsed / 1000)
}

/** Measures one core for about 2 × `ms` milliseconds; run it while nothing else runs. */
export function coreSpeed (ms = 1000): CoreSpeed {
  const data = Buffer.from('x'.repeat(600))
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const rsaSig = createSign('sha256').update(data).sign(rsa.privateKey)
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  if (!createVerify('sha256').update(data).verify(rsa.publicKey, rsaSig)) throw new Error('RSA self-check failed')
  return {
    rs256VerifyPerS: rate(ms, () => { verify('sha256', data, rsa.publicKey, rsaSig) }),
    es256SignPerS: rate(ms, () => { sign('sha256', data, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' }) })
  }
}

/** The machine-wide CPU counters of /proc/stat, in clock ticks; undefined off Linux. */
export interface CpuTicks { busy: number, idle: number, steal: number, total: number }

export function cpuTicks (): CpuTicks | undefined {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!
    // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest time is inside user)
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1, 9).map(Number) as number[]
    const busy = user! + nice! + system! + irq! + softirq!
    return { busy, idle: idle! + iowait!, steal: steal!, total: busy + idle! + iowait! + steal! }
  } catch {
    return undefined
  }
}

/** Shares of the machine's CPU time between two readings: busy, idle and stolen, each 0..1. */
export function cpuShares (a: CpuTicks | undefined, b: CpuTicks | undefined): { busy: number, idle: number, steal: number } | undefined {
  if (!a || !b || b.total <= a.total) return undefined
  const total = b.total - a.total
  return { busy: (b.busy - a.busy) / total, idle: (b.idle - a.idle) / total, steal: (b.steal - a.steal) / total }
}
