// Help as a new user reads it: within 80 columns, no escape codes in a pipe or with NO_COLOR,
// every option described, the version on a line of its own, and no reference to documents that a
// clone of the repository does not have.
import { describe, expect, setDefaultTimeout, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { invpipe } from './support/cli.ts'

setDefaultTimeout(60_000)

const ROOT = join(import.meta.dir, '..')
const VERSION = (await Bun.file(join(ROOT, 'package.json')).json()).version as string
const COMMANDS = ['replay', 'item', 'generate', 'consume', 'backtest', 'migrate', 'health']

const help = (args: string[], env: Record<string, string> = {}) => invpipe(args, { env })

describe('help', () => {
  for (const args of [['--help'], ...COMMANDS.map((c) => [c, '--help'])]) {
    test(`invpipe ${args.join(' ')}: 80 columns, no colour in a pipe, version last, every option described`, () => {
      const result = help(args)
      expect(result.code).toBe(0)
      expect(result.stderr).toBe('')
      const lines = result.stdout.trimEnd().split('\n')
      for (const line of lines) expect(line.length).toBeLessThanOrEqual(80)
      expect(result.stdout).not.toContain('\u001b')
      expect(result.stdout).not.toMatch(/SPEC|§/)
      expect(lines.at(-1)).toBe(`invpipe ${VERSION}`)
      expect(lines.at(-2)).toBe('')
      // An option line is followed by its description, indented further.
      lines.forEach((line, i) => {
        if (/^ {2}--/.test(line)) expect(lines[i + 1] ?? '').toMatch(/^ {6}\S/)
      })
    })
  }

  test('replay --help: --no-progress is described, settings show their variable and bounds', () => {
    const text = help(['replay', '--help']).stdout
    expect(text).toMatch(/ {2}--no-progress\n {6}no progress bar/)
    const flat = text.replace(/\s+/g, ' ')
    expect(flat).toContain('--lead-time-days DAYS default supplier lead time')
    expect(flat).toContain('(env LEAD_TIME_DAYS, default 7)')
    expect(flat).toContain(
      '--review-period-days DAYS days between reorder reviews: a number of days from 0 to 3650',
    )
  })

  test('no escape codes on a terminal with NO_COLOR; bold headings on a terminal without it', () => {
    const onTerminal = (env: Record<string, string>) =>
      Bun.spawnSync(['script', '-qec', `bun ${join(ROOT, 'src/main.ts')} migrate --help`, '/dev/null'], {
        env: { PATH: process.env.PATH ?? '', TERM: 'xterm', ...env },
      }).stdout.toString()
    expect(onTerminal({ NO_COLOR: '1' })).not.toContain('\u001b[')
    expect(onTerminal({})).toContain('\u001b[1mUsage:')
  })
})

describe('documents that stand alone', () => {
  test('every relative link in the README points inside the repository, at something that exists', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    const links = [...readme.matchAll(/\]\(([^)#\s]+)[^)]*\)/g)].map((m) => m[1] as string)
    for (const link of links.filter((l) => !/^[a-z]+:/.test(l))) {
      const target = resolve(ROOT, link)
      expect(target.startsWith(`${ROOT}/`)).toBe(true)
      expect(existsSync(target)).toBe(true)
    }
  })

  test('the backtest page cites the README by section, not an outside document', () => {
    const out = mkdtempSync(join(tmpdir(), 'invpipe-page-'))
    try {
      const page = join(out, 'page.html')
      const events = join(ROOT, 'fixtures/backtest/two_items/events.jsonl')
      expect(help(['backtest', events, '--since', '10d', '--html', page]).code).toBe(0)
      const html = readFileSync(page, 'utf8')
      expect(html).not.toMatch(/SPEC|§/)
      expect(html).toContain('README')
    } finally {
      rmSync(out, { recursive: true, force: true })
    }
  })
})
