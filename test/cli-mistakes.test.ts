// The mistakes a new user makes on the command line, as typed: each is one line naming what was
// wrong and a non-zero exit, never a silent run with something else than what was asked.
import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import {
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type CliOptions, invpipe } from './support/cli.ts'

// Bun's 5 s default is too short for a test that spawns processes on 2 loaded cores.
setDefaultTimeout(60_000)

const dir = mkdtempSync(join(tmpdir(), 'invpipe-mistakes-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const event = (id: string, type: string, quantity: number, day: number, extra: object = {}) =>
  JSON.stringify({
    event_id: id,
    event_type: type,
    sku: 'S1',
    warehouse_id: 'W1',
    quantity,
    timestamp: `2026-02-${String(day).padStart(2, '0')}T12:00:00Z`,
    ...extra,
  })
const inputPath = join(dir, 'in.jsonl')
writeFileSync(
  inputPath,
  `${[event('c', 'stock_count', 40, 1), ...[2, 3, 4, 5, 6].map((d) => event(`s${d}`, 'sale', 6, d))].join('\n')}\n`,
)

const run = (args: string[], options: CliOptions = {}) => invpipe(args, { cwd: dir, ...options })

/** One line on stderr, nothing on stdout, exit 2. */
function expectUsageError(result: ReturnType<typeof run>, pattern: RegExp) {
  expect(result.stderr.trim().split('\n')).toHaveLength(1)
  expect(result.stderr.trim()).toMatch(pattern)
  expect(result.stdout).toBe('')
  expect(result.code).toBe(2)
}

describe('unknown and misspelled options', () => {
  test('a misspelled setting is named, with the option meant, and nothing runs', () => {
    const result = run(['replay', inputPath, '--leadtime-days=14', '--data-dir', 'never'])
    expectUsageError(result, /^invpipe: unknown option --leadtime-days \(did you mean --lead-time-days\?\)/)
    expect(existsSync(join(dir, 'never'))).toBe(false)
  })

  test('--alert=x, --bogus, -x and a stray --sku are each refused by name', () => {
    expectUsageError(run(['replay', inputPath, '--alert=x']), /unknown option --alert .*--alerts/)
    expectUsageError(run(['replay', inputPath, '--bogus']), /^invpipe: unknown option --bogus;/)
    expectUsageError(run(['replay', inputPath, '-x']), /^invpipe: unknown option -x;/)
    expectUsageError(run(['replay', inputPath, '--sku', 'SKU-00002']), /^invpipe: unknown option --sku;/)
  })

  test('every command checks its options, and a command or option before it must exist', () => {
    expectUsageError(
      run(['generate', '--bogus']),
      /^invpipe: unknown option --bogus;.*invpipe generate --help/,
    )
    expectUsageError(run(['generate', 'events.jsonl']), /^invpipe: unexpected argument "events.jsonl"/)
    expectUsageError(run(['backtest', inputPath, '--sine', '30d']), /unknown option --sine .*--since/)
    expectUsageError(
      run(['migrate', '--postgres-hots', 'x']),
      /unknown option --postgres-hots .*--postgres-host/,
    )
    expectUsageError(run(['health', '-p', '9464']), /^invpipe: unknown option -p;/)
    expectUsageError(run(['consume', '--drian']), /unknown option --drian .*--drain/)
    expectUsageError(run(['--bogus', 'replay', inputPath]), /^invpipe: unknown option --bogus;/)
    expectUsageError(
      run(['replya', inputPath]),
      /^invpipe: unknown command "replya" \(did you mean replay\?\)/,
    )
  })

  test('a string option needs a value; a flag takes none; --no-x only for flags', () => {
    expectUsageError(run(['backtest', inputPath, '--html']), /^invpipe: --html needs a value \(FILE\)/)
    expectUsageError(run(['backtest', inputPath, '--html', '--json']), /^invpipe: --html needs a value/)
    expectUsageError(run(['backtest', inputPath, '--html=']), /^invpipe: --html needs a value/)
    expectUsageError(run(['replay', inputPath, '--json=yes']), /^invpipe: --json takes no value/)
    expectUsageError(run(['replay', inputPath, '--no-alerts']), /^invpipe: unknown option --no-alerts;/)
  })

  test('the forms citty understands still work: --flag=value, --no-flag, -- before file names', () => {
    const result = run([
      'replay',
      '--lead-time-days=14',
      '--no-progress',
      '--json',
      '--data-dir=out-forms',
      '--',
      inputPath,
    ])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const summary = JSON.parse(result.stdout)
    expect(summary.events.accepted).toBe(6)
    expect(summary.top_at_risk[0].lead_time_days).toBe(14)
  })

  test('a name that is not a file: one line', () => {
    expectUsageError(run(['replay', inputPath, 'SKU-00002']), /^invpipe: SKU-00002: cannot read \(ENOENT\)$/)
  })
})

describe('outputs that would destroy an input or each other', () => {
  const original = readFileSync(inputPath, 'utf8')
  const unchanged = () => expect(readFileSync(inputPath, 'utf8')).toBe(original)

  test('--alerts or --rejects naming the input (by any spelling or link) is refused before anything is read', () => {
    const copy = join(dir, 'copy.jsonl')
    writeFileSync(copy, original)
    const before = readFileSync(copy, 'utf8')
    expectUsageError(
      run(['replay', 'copy.jsonl', '--alerts', 'copy.jsonl', '--data-dir', 'never-a']),
      /^invpipe: --alerts copy.jsonl: is the input copy.jsonl/,
    )
    expectUsageError(run(['replay', copy, '--rejects', './sub/../copy.jsonl']), /--rejects .*is the input/)
    symlinkSync(copy, join(dir, 'link.jsonl'))
    linkSync(copy, join(dir, 'hard.jsonl'))
    expectUsageError(
      run(['replay', 'link.jsonl', '--alerts', 'hard.jsonl']),
      /--alerts hard.jsonl: is the input/,
    )
    expect(readFileSync(copy, 'utf8')).toBe(before)
    expect(existsSync(join(dir, 'never-a'))).toBe(false)
  })

  test('--alerts and --rejects naming one file are refused; so is a directory', () => {
    expectUsageError(
      run(['replay', inputPath, '--alerts', 'same.jsonl', '--rejects', 'same.jsonl']),
      /^invpipe: --rejects same.jsonl: is also the --alerts output/,
    )
    mkdirSync(join(dir, 'a-dir'), { recursive: true })
    expectUsageError(
      run(['replay', inputPath, '--alerts', 'a-dir']),
      /^invpipe: --alerts a-dir: is a directory/,
    )
    expect(existsSync(join(dir, 'same.jsonl'))).toBe(false)
    unchanged()
  })

  test('backtest --html: not an input, not a directory, not a file that is no page', () => {
    const page = join(dir, 'events.html')
    writeFileSync(page, original)
    expectUsageError(run(['backtest', page, '--html', page]), /^invpipe: --html .*events.html: is the input/)
    writeFileSync(join(dir, 'README.md'), '# keep me\n')
    expectUsageError(
      run(['backtest', inputPath, '--html', 'README.md']),
      /^invpipe: --html README.md: expected a file name ending in .html or .htm/,
    )
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toBe('# keep me\n')
    mkdirSync(join(dir, 'page.html'), { recursive: true })
    expectUsageError(run(['backtest', inputPath, '--html', 'page.html']), /--html page.html: is a directory/)
  })

  test('generate --output that is a directory is refused', () => {
    mkdirSync(join(dir, 'out.jsonl'), { recursive: true })
    expectUsageError(
      run(['generate', '--events', '10', '--output', 'out.jsonl']),
      /--output out.jsonl: is a directory/,
    )
  })
})

describe('every bound stated in its error', () => {
  test('generate --events beyond 100,000,000: refused at once, with the bound', () => {
    const started = performance.now()
    expectUsageError(
      run(['generate', '--events', '1000000000000', '--output', 'huge.jsonl']),
      /^invpipe: --events must be a whole number from 0 to 100000000, got 1000000000000$/,
    )
    expect(performance.now() - started).toBeLessThan(10_000)
    expect(existsSync(join(dir, 'huge.jsonl'))).toBe(false)
    expectUsageError(run(['generate', '--seed', '99999999999999999999']), /--seed .*at most 9007199254740991/)
  })

  test('settings name both ends of their range', () => {
    expectUsageError(
      run(['replay', inputPath, '--review-period-days', '36500']),
      /^invpipe: invalid REVIEW_PERIOD_DAYS="36500" \(from --review-period-days\): expected a number of days from 0 to 3650$/,
    )
    expectUsageError(
      run(['replay', inputPath], { env: { DEDUP_WINDOW_HOURS: '1e9' } }),
      /expected a number of hours from 0 to 87600/,
    )
  })

  test('backtest --since 99999d: refused with the bound, not a window from 1752', () => {
    expectUsageError(
      run(['backtest', inputPath, '--since', '99999d']),
      /^invpipe: invalid --since "99999d": at most 3650d \(ten years back\), or a date YYYY-MM-DD in 2000-2099$/,
    )
    expectUsageError(
      run(['backtest', inputPath, '--until', '4000d']),
      /invalid --until "4000d": at most 3650d/,
    )
  })

  test('health --metrics-port 0 is a mistake, on stderr; an unreachable port is on stderr too', () => {
    const zero = run(['health', '--metrics-port', '0'])
    expectUsageError(zero, /^invpipe: invalid METRICS_PORT=0 \(from --metrics-port\): health needs the port/)
    const closed = run(['health', '--metrics-port', '1'])
    expect(closed.stdout).toBe('')
    expect(closed.stderr.trim()).toMatch(/^invpipe: http:\/\/127.0.0.1:1\/healthz: /)
    expect(closed.code).toBe(1)
  })
})
