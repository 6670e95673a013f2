/** One instruction of a Dockerfile: its keyword upper-cased and the rest of its (joined) line. */
export interface Instruction { keyword: string, args: string }

/** A build stage: `FROM <image> AS <name>` and the instructions under it. */
export interface Stage { image: string, name: string, instructions: Instruction[] }

/** A COPY: its sources (repository paths, or paths in another stage with `from`) and destination. */
export interface CopyStep { from?: string, sources: string[], dest: string }

/**
 * Enough of the Dockerfile grammar for the replay test: comments, `\` continuations, `ARG`
 * defaults substituted into FROM, and stages. Anything fancier (heredocs, --mount) is out of scope.
 */
export function parseDockerfile (text: string): { args: Record<string, string>, stages: Stage[] } {
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
  const args: Record<string, string> = {}
  const stages: Stage[] = []
  for (const line of lines) {
    const m = /^(\S+)\s+(.*)$/.exec(line)
    if (!m) throw new Error(`cannot parse Dockerfile line: ${line}`)
    const keyword = m[1]!.toUpperCase()
    const rest = m[2]!.trim()
    if (keyword === 'ARG' && stages.length === 0) {
      const [name, value = ''] = rest.split('=')
      args[name!] = value
    } else if (keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest.replace(/\$\{(\w+)\}/g, (_, v: string) => args[v] ?? ''))
      if (!from) throw new Error(`cannot parse FROM ${rest}`)
      stages.push({ image: from[1]!, name: from[2] ?? String(stages.length), instructions: [] })
    } else {
      const stage = stages.at(-1)
      if (!stage) throw new Error(`${keyword} before FROM`)
      stage.instructions.push({ keyword, args: rest })
    }
  }
  return { args, stages }
}

/** The COPY steps of a stage, in order. */
export function copySteps (stage: Stage): CopyStep[] {
  return stage.instructions.filter((i) => i.keyword === 'COPY').map((i) => {
    const words = i.args.split(/\s+/)
    let from: string | undefined
    while (words[0]?.startsWith('--')) {
      const flag = words.shift()!
      if (flag.startsWith('--from=')) from = flag.slice('--from='.length)
    }
    const dest = words.pop()
    if (!dest || words.length === 0) throw new Error(`COPY needs a source and a destination: ${i.args}`)
    return { from, sources: words, dest }
  })
}

/** The arguments of a stage's exec-form (JSON array) instruction, e.g. CMD or HEALTHCHECK's CMD. */
export function execForm (stage: Stage, keyword: 'CMD' | 'HEALTHCHECK'): string[] | undefined {
  const ins = stage.instructions.filter((i) => i.keyword === keyword).at(-1)
  if (!ins) return undefined
  const json = /\[.*\]$/.exec(ins.args)?.[0]
  return json ? JSON.parse(json) as string[] : undefined
}

/** The values a stage's ENV instructions set (`KEY=value` pairs; no quoting). */
export function envOf (stage: Stage): Record<string, string> {
  const env: Record<string, string> = {}
  for (const ins of stage.instructions.filter((i) => i.keyword === 'ENV')) {
    for (const pair of ins.args.split(/\s+/)) {
      const [k, ...v] = pair.split('=')
      env[k!] = v.join('=')
    }
  }
  return env
}
