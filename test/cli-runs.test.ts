// Runs that must not look like successes, and runs that are cut short: an input that is mostly not
// events exits 3 after its summary; a file named twice is refused; Ctrl-C and SIGTERM leave no
// temporary file behind and end with the shell's status for the signal.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { invpipe, MAIN } from './support/cli.ts'

setDefaultTimeout(120_000)

const ROOT = join(import.meta.dir, '..')
const dir = mkdtempSync(join(tmpdir(), 'invpipe-runs-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const run = (args: string[], env: Record<string, string> = {}) => invpipe(args, { cwd: dir, env })

const event = (id: string, quantity: number, day: number) =>
  JSON.stringify({
    event_id: id,
    event_type: 'sale',
    sku: 'S1',
    warehouse_id: 'W1',
    quantity,
    timestamp: `2026-02-${String(day).padStart(2, '0')}T12:00:00Z`,
    on_hand: 50,
  })
const goodPath = join(dir, 'good.jsonl')
writeFileSync(goodPath, `${[1, 2, 3, 4].map((d) => event(`e${d}`, 2, d)).join('\n')}\n`)

describe('--max-reject-rate (MAX_REJECT_RATE, default 0.5)', () => {
  const garbage = join(dir, 'garbage.bin')
  const gz = join(dir, 'events.jsonl.gz')
  beforeAll(() => {
    const bytes = new Uint8Array(4096)
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919 + 13) % 256
    writeFileSync(garbage, bytes)
    writeFileSync(gz, Bun.gzipSync(Buffer.from(`${[1, 2, 3].map((d) => event(`g${d}`, 1, d)).join('\n')}\n`)))
  })

  test('a binary file, a .gz: the summary, then one line saying so, exit 3', () => {
    for (const path of [garbage, gz]) {
      const result = run(['replay', path, '--data-dir', 'data-rr'])
      expect(result.stdout).toMatch(/^events +\d+ read, 0 accepted, \d+ rejected/)
      expect(result.stderr.trim()).toMatch(
        /^invpipe: (\d+) of \1 lines rejected \(100 %\), more than MAX_REJECT_RATE 0.5 \(--max-reject-rate\)/,
      )
      expect(result.stderr.trim().split('\n')).toHaveLength(1)
      expect(result.code).toBe(3)
    }
  })

  test('--json too; a good file mixed in below the share passes; the limit can be raised', () => {
    const json = run(['replay', garbage, '--json', '--data-dir', 'data-rr'])
    expect(JSON.parse(json.stdout).events.accepted).toBe(0)
    expect(json.code).toBe(3)
    expect(run(['replay', garbage, '--max-reject-rate', '1', '--data-dir', 'data-rr']).code).toBe(0)
    expect(run(['replay', garbage, '--data-dir', 'data-rr'], { MAX_REJECT_RATE: '1' }).code).toBe(0)
    const bad = run(['replay', goodPath, '--max-reject-rate', '1.5'])
    expect(bad.stderr.trim()).toBe(
      'invpipe: invalid MAX_REJECT_RATE="1.5" (from --max-reject-rate): expected a share with 0 <= x <= 1',
    )
    expect(bad.code).toBe(2)
    const good = run(['replay', goodPath, '--data-dir', 'data-rr'])
    expect(good.code).toBe(0)
    expect(good.stderr).toBe('')
  })

  test('backtest over event files: the same rule', () => {
    // A real history with more garbage lines than events after it.
    const events = readFileSync(join(ROOT, 'fixtures/backtest/two_items/events.jsonl'), 'utf8')
    const lines = events.trim().split('\n').length
    const mixed = join(dir, 'mixed.jsonl')
    writeFileSync(mixed, `${events}${'not an event\n'.repeat(lines + 1)}`)
    const result = run(['backtest', mixed, '--since', '10d'])
    expect(result.stdout).toContain('Brier')
    expect(result.stderr.trim()).toBe(
      `invpipe: ${lines + 1} of ${2 * lines + 1} lines rejected (${((100 * (lines + 1)) / (2 * lines + 1)).toFixed(1)} %), more than MAX_REJECT_RATE 0.5 (--max-reject-rate): is this an event file? (invpipe replay FILE --rejects rejects.jsonl lists each line and why)`,
    )
    expect(result.code).toBe(3)
    expect(run(['backtest', mixed, '--since', '10d', '--max-reject-rate', '0.6']).code).toBe(0)
  })
})

describe('a file named twice', () => {
  test('by the same name, another spelling, a link, or - twice: refused before reading', () => {
    symlinkSync(goodPath, join(dir, 'link.jsonl'))
    const cases: [string[], string][] = [
      [['good.jsonl', 'good.jsonl'], 'invpipe: good.jsonl is named twice; each input is read once'],
      [
        ['good.jsonl', './good.jsonl'],
        'invpipe: ./good.jsonl is the same file as good.jsonl; each input is read once',
      ],
      [
        ['link.jsonl', goodPath],
        `invpipe: ${goodPath} is the same file as link.jsonl; each input is read once`,
      ],
      [['-', '-'], 'invpipe: standard input (-) is named twice; each input is read once'],
    ]
    for (const [files, message] of cases) {
      for (const command of ['replay', 'backtest']) {
        const result = run([
          command,
          ...files,
          ...(command === 'replay' ? ['--data-dir', 'never-twice'] : []),
        ])
        expect(result.stderr.trim()).toBe(message)
        expect(result.code).toBe(2)
      }
    }
    expect(existsSync(join(dir, 'never-twice'))).toBe(false)
  })
})

describe('interrupted runs leave no temporary files', () => {
  const big = join(dir, 'big.jsonl')
  beforeAll(() => {
    const result = run(['generate', '--events', '400000', '--skus', '200', '--output', big])
    if (result.code !== 0) throw new Error(result.stderr)
  })

  /** Starts the command, waits until `ready()` (a temporary file exists), sends the signal. */
  async function interrupt(args: string[], ready: (pid: number) => boolean, signal: 'SIGINT' | 'SIGTERM') {
    const proc = Bun.spawn(['bun', MAIN, ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '' },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const deadline = Date.now() + 60_000
    while (!ready(proc.pid)) {
      if (Date.now() > deadline || proc.exitCode !== null)
        throw new Error('the temporary file never appeared')
      await Bun.sleep(20)
    }
    proc.kill(signal)
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited])
    return { code, stderr }
  }

  for (const [signal, status] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    test(`replay: the hidden Parquet file in DATA_DIR is removed on ${signal}, exit ${status}`, async () => {
      const data = join(dir, `data-${signal}`)
      const temporaries = () =>
        existsSync(data) ? readdirSync(data).filter((name) => name.endsWith('.tmp')) : []
      const result = await interrupt(
        ['replay', big, '--data-dir', data, '--json'],
        () => temporaries().length > 0,
        signal,
      )
      expect(result.code).toBe(status)
      expect(result.stderr.trim()).toBe(
        `invpipe: interrupted by ${signal}; removed 1 unfinished temporary file(s)`,
      )
      expect(readdirSync(data)).toEqual([])
    })
  }

  test('generate --output FILE.jsonl: FILE.jsonl.tmp-PID is removed on SIGINT, exit 130', async () => {
    const output = join(dir, 'generated.jsonl')
    const result = await interrupt(
      ['generate', '--events', '20000000', '--output', output],
      (pid) => existsSync(`${output}.tmp-${pid}`),
      'SIGINT',
    )
    expect(result.code).toBe(130)
    expect(readdirSync(dir).filter((name) => name.startsWith('generated.jsonl'))).toEqual([])
  })

  test('generate --output FILE.parquet: its temporary file is removed on SIGTERM, exit 143', async () => {
    const output = join(dir, 'generated.parquet')
    const result = await interrupt(
      ['generate', '--events', '20000000', '--output', output],
      (pid) => existsSync(`${output}.tmp-${pid}`),
      'SIGTERM',
    )
    expect(result.code).toBe(143)
    expect(readdirSync(dir).filter((name) => name.startsWith('generated.parquet'))).toEqual([])
  })
})
