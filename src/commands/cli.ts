// What citty leaves to us, done once for every command: the arguments are checked against the
// command's declared options before it runs (citty ignores an option it does not know, so a
// misspelled setting would silently run with the default), and help is rendered compactly enough
// to read at 80 columns, without colour off a terminal.
import type { ArgDef, ArgsDef, CommandDef } from 'citty'
import { UsageError } from '../errors.ts'
import { wrap } from '../text.ts'

/** A command as main.ts knows it: its name under `invpipe` and its resolved definition. */
export interface NamedCommand {
  name: string
  command: CommandDef<ArgsDef>
}

/**
 * Throws a UsageError naming the first argument citty would misread: an option the command does
 * not declare (long or short), a string option without a value (at the end, followed by another
 * option, or `--x=`), a value given to a flag, `--no-x` for something that is not a flag, or a
 * positional argument for a command that takes none. The forms citty understands pass: `--x v`,
 * `--x=v`, `--flag`, `--flag=true|false`, `--no-flag`, `-` (standard input) and `--` (everything
 * after it is a positional argument).
 */
export function checkArgs(commandName: string, argsDef: ArgsDef, rawArgs: readonly string[]): void {
  const options = new Map<string, ArgDef>()
  let positional: ArgDef | undefined
  for (const [name, def] of Object.entries(argsDef)) {
    if (def.type === 'positional') positional = def
    else options.set(name, def)
  }
  const seeHelp = `see invpipe ${commandName} --help`
  const unexpected = (value: string) => {
    if (positional !== undefined) return
    throw new UsageError(
      `unexpected argument ${JSON.stringify(value)}: invpipe ${commandName} takes options only; ${seeHelp}`,
    )
  }
  for (let i = 0; i < rawArgs.length; i++) {
    const arg = rawArgs[i] as string
    if (arg === '--') {
      for (const rest of rawArgs.slice(i + 1)) unexpected(rest)
      return
    }
    if (arg === '-' || !arg.startsWith('-')) {
      unexpected(arg)
      continue
    }
    if (!arg.startsWith('--')) throw new UsageError(`unknown option ${arg}; ${seeHelp}`)
    const equals = arg.indexOf('=')
    const name = arg.slice(2, equals < 0 ? undefined : equals)
    const value = equals < 0 ? undefined : arg.slice(equals + 1)
    const def = options.get(name)
    if (def === undefined) {
      if (name.startsWith('no-') && options.get(name.slice(3))?.type === 'boolean' && value === undefined)
        continue
      const meant = closest(name, [...options.keys()])
      throw new UsageError(
        `unknown option --${name}${meant === null ? '' : ` (did you mean --${meant}?)`}; ${seeHelp}`,
      )
    }
    if (def.type === 'boolean') {
      if (value !== undefined && value !== 'true' && value !== 'false')
        throw new UsageError(`--${name} takes no value, got ${JSON.stringify(arg)}; ${seeHelp}`)
      continue
    }
    const hint = def.valueHint === undefined ? '' : ` (${def.valueHint})`
    if (value === undefined) {
      const next = rawArgs[i + 1]
      // A value that looks like an option is almost always a forgotten value: `--html --json`.
      if (next === undefined || (next.startsWith('-') && next !== '-'))
        throw new UsageError(
          `--${name} needs a value${hint}${next === undefined ? '' : `, got the option ${next}`} (for a value starting with -, write --${name}=VALUE)`,
        )
      i++
    } else if (value === '') throw new UsageError(`--${name} needs a value${hint}, got an empty one`)
  }
}

/** The declared name nearest to a misspelling, when near enough to be what was meant. */
export function closest(name: string, candidates: readonly string[]): string | null {
  let best: string | null = null
  let bestDistance = Number.POSITIVE_INFINITY
  const limit = Math.max(1, Math.floor(name.length / 4))
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate)
    const prefix = candidate.startsWith(name) || name.startsWith(candidate)
    const score = prefix && Math.min(name.length, candidate.length) >= 3 ? Math.min(distance, 1) : distance
    if (score < bestDistance) {
      best = candidate
      bestDistance = score
    }
  }
  return bestDistance <= limit ? best : null
}

/** Edits (insert, delete, replace, swap two neighbours) from a to b: "drian" is 1 from "drain". */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  )
  const at = (i: number, j: number) => (d[i] as number[])[j] as number
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, at(i - 2, j - 2) + 1)
      ;(d[i] as number[])[j] = best
    }
  }
  return at(a.length, b.length)
}

export interface UsageStyle {
  /** Columns to wrap at. */
  width: number
  /** Bold headings (only on a terminal without NO_COLOR). */
  color: boolean
}

/** Help goes to stdout: 80 columns (fewer on a narrower terminal), colour only on a terminal. */
export function usageStyle(stream: { isTTY?: boolean; columns?: number } = process.stdout): UsageStyle {
  const env = process.env
  const color =
    stream.isTTY === true && env.NO_COLOR === undefined && env.TERM !== 'dumb' && env.FORCE_COLOR !== '0'
  const columns = stream.isTTY === true && stream.columns !== undefined ? stream.columns : 80
  return { width: Math.max(40, Math.min(columns, 80)), color }
}

/** Splits a command's description into its prose and its examples ("Examples:" and what follows). */
function describe(description: string): { prose: string; examples: string[] } {
  const match = /\nExamples?:\n/.exec(description)
  if (match === null) return { prose: description, examples: [] }
  return {
    prose: description.slice(0, match.index),
    examples: description
      .slice(match.index + match[0].length)
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== ''),
  }
}

const heading = (text: string, style: UsageStyle) => (style.color ? `\u001B[1m${text}\u001B[22m` : text)

/** The help of one command: what it does, its usage line, arguments, options, examples, version. */
export function renderCommandUsage(named: NamedCommand, version: string, style: UsageStyle): string {
  const meta = (named.command.meta ?? {}) as { description?: string }
  const args = (named.command.args ?? {}) as ArgsDef
  const { prose, examples } = describe(meta.description ?? '')
  const positionals = Object.entries(args).filter(([, def]) => def.type === 'positional')
  const options = Object.entries(args).filter(([, def]) => def.type !== 'positional')
  const names = positionals.map(([name, def]) => def.valueHint ?? name.toUpperCase())
  const lines = [
    ...wrap(`invpipe ${named.name}: ${prose}`, style.width),
    '',
    heading('Usage:', style),
    `  invpipe ${named.name}${options.length > 0 ? ' [options]' : ''}${names.length === 0 ? '' : ` ${names.join(' ')}`}`,
  ]
  if (positionals.length > 0) {
    lines.push('', heading('Arguments:', style))
    positionals.forEach(([, def], i) => {
      lines.push(`  ${names[i]}`, ...wrap(def.description ?? '', style.width, '      '))
    })
  }
  if (options.length > 0) {
    lines.push('', heading('Options:', style))
    for (const [name, def] of options) {
      const negated = def.type === 'boolean' && def.default === true
      const value = def.type === 'boolean' ? '' : ` ${def.valueHint ?? 'VALUE'}`
      lines.push(`  ${negated ? `--no-${name}` : `--${name}${value}`}`)
      const text = negated
        ? ((def as { negativeDescription?: string }).negativeDescription ?? def.description ?? '')
        : `${def.description ?? ''}${def.default !== undefined && def.type !== 'boolean' ? ` (default ${def.default})` : ''}`
      lines.push(...wrap(text, style.width, '      '))
    }
  }
  if (examples.length > 0) {
    lines.push('', heading('Examples:', style))
    for (const example of examples) lines.push(...wrapCommand(example, style.width))
  }
  lines.push('', `invpipe ${version}`)
  return lines.join('\n')
}

/** An example command line, broken with shell continuations when it is wider than the page. */
function wrapCommand(example: string, width: number): string[] {
  const words = example.split(' ')
  const lines: string[] = []
  let current = '  '
  for (const word of words) {
    if (current.trim() !== '' && current.length + 1 + word.length > width - 2) {
      lines.push(`${current} \\`)
      current = `      ${word}`
    } else current = current.trim() === '' ? `  ${word}` : `${current} ${word}`
  }
  lines.push(current)
  return lines
}

/** The help of `invpipe` itself: what it is, its commands (first sentence of each), the version. */
export function renderMainUsage(
  description: string,
  commands: readonly NamedCommand[],
  version: string,
  style: UsageStyle,
): string {
  const width = Math.max(...commands.map((c) => c.name.length))
  const lines = [...wrap(`invpipe: ${description}`, style.width), '', heading('Usage:', style)]
  lines.push('  invpipe COMMAND [options]', '', heading('Commands:', style))
  for (const { name, command } of commands) {
    const meta = (command.meta ?? {}) as { description?: string }
    const first = describe(meta.description ?? '').prose.split('\n')[0] as string
    const [head, ...rest] = wrap(first, style.width, ' '.repeat(width + 4))
    lines.push(`  ${name.padEnd(width)}  ${(head as string).trimStart()}`, ...rest)
  }
  lines.push(
    '',
    ...wrap(
      'Run "invpipe COMMAND --help" for its options. Every setting is also an environment variable (see "Configuration" in the README).',
      style.width,
    ),
    '',
    `invpipe ${version}`,
  )
  return lines.join('\n')
}
