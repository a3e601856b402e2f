// The command line end to end, as a user runs it: from source, and as the compiled binary.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import {
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PARSE_WORKER_FROM_BYTES } from '../src/sources/parsed.ts'

// Bun's 5 s default is too short for a test that spawns processes on 2 loaded cores.
setDefaultTimeout(60_000)

const ROOT = join(import.meta.dir, '..')
const dir = mkdtempSync(join(tmpdir(), 'invpipe-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const good = (id: string, quantity: number, day: number) =>
  JSON.stringify({
    event_id: id,
    event_type: 'sale',
    sku: 'S1',
    warehouse_id: 'W1',
    quantity,
    timestamp: `2026-02-0${day}T12:00:00Z`,
    on_hand: 50,
  })
const input = [good('a', 5, 1), 'not json', '', good('a', 5, 1), good('b', 7, 2), '{"event_id":"c"}'].join(
  '\n',
)
const inputPath = join(dir, 'in.jsonl')
writeFileSync(inputPath, `${input}\n`)

function run(cmd: string[], options: { stdin?: string; env?: Record<string, string>; cwd?: string } = {}) {
  const proc = Bun.spawnSync(cmd, {
    cwd: options.cwd ?? dir,
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdin: options.stdin === undefined ? 'ignore' : Buffer.from(options.stdin),
  })
  return { code: proc.exitCode, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() }
}
const source = (...args: string[]) => ['bun', join(ROOT, 'src/main.ts'), ...args]

describe('invpipe from source', () => {
  test('replay reports counts by reason, writes rejects with line numbers and Parquet files', () => {
    const result = run(
      source(
        'replay',
        inputPath,
        '--json',
        '--rejects',
        'rejects.jsonl',
        '--alerts',
        'alerts.jsonl',
        '--data-dir',
        'out',
      ),
    )
    expect(result.code).toBe(0)
    const summary = JSON.parse(result.stdout)
    expect(summary.events).toEqual({
      read: 5,
      accepted: 3,
      rejected: 2,
      duplicates: 1,
      rejected_by_code: { invalid_json: 1, missing_field: 1 },
    })
    expect(summary.items).toBe(1)
    const rejects = readFileSync(join(dir, 'rejects.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(rejects.map((r) => [r.line, r.code])).toEqual([
      [2, 'invalid_json'],
      [4, 'duplicate'],
      [6, 'missing_field'],
    ])
    expect(rejects[0].record).toBe('not json')
    expect(readdirSync(join(dir, 'out'))).toHaveLength(1)
  })

  test('--alerts writes the episodes’ messages (SPEC §6); the summary shows the items most at risk and why', () => {
    const event = (id: string, type: string, quantity: number, timestamp: string, extra = {}) =>
      JSON.stringify({
        event_id: id,
        event_type: type,
        sku: 'S2',
        warehouse_id: 'W1',
        quantity,
        timestamp,
        ...extra,
      })
    // Stock runs down to nothing (an episode opens and escalates), a purchase order is placed, the
    // goods arrive (it resolves).
    const lines = [
      event('s0', 'stock_count', 40, '2026-03-01T08:00:00Z'),
      ...[1, 2, 3, 4, 5, 6, 7, 8].map((d) => event(`s${d}`, 'sale', 5, `2026-03-0${d}T12:00:00Z`)),
      event('po', 'purchase_order', 60, '2026-03-08T13:00:00Z', {
        order_id: 'PO-77',
        expected_at: '2026-03-12T00:00:00Z',
      }),
      event('r1', 'restock', 60, '2026-03-09T09:00:00Z', { order_id: 'PO-77' }),
    ]
    const path = join(dir, 'episode.jsonl')
    writeFileSync(path, `${lines.join('\n')}\n`)
    const result = run(
      source('replay', path, '--alerts', 'episode-alerts.jsonl', '--data-dir', 'out-episode'),
    )
    expect(result.code).toBe(0)
    const alerts = readFileSync(join(dir, 'episode-alerts.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    const statuses = alerts.map((a) => a.status)
    expect(statuses[0]).toBe('raised')
    expect(statuses.at(-1)).toBe('resolved')
    for (const [i, alert] of alerts.entries()) {
      // One episode: one alert_id, its messages numbered 1, 2, ...
      expect(alert.alert_id).toBe(alerts[0].alert_id)
      expect(alert.alert_id).toStartWith('S2:W1:2026-03-')
      expect(alert.message_id).toBe(`${alert.alert_id}:${i + 1}`)
      expect(alert.reason).toMatch(/on hand, about .* a day/)
      expect(Array.isArray(alert.open_orders)).toBe(true)
      expect(Object.keys(alert)).toEqual(
        expect.arrayContaining(['on_order', 'inventory_position', 'expected_stockout_date']),
      )
    }
    // The summary: figures on one line, the reason under it, all within 120 columns.
    const summary = result.stdout.slice(result.stdout.indexOf('most at risk'))
    const table = summary.split('\n')
    expect(table.join('\n')).toContain('S2')
    expect(table.some((line) => /^ {4}\d+ on hand, about /.test(line))).toBe(true)
    for (const header of ['on order', 'lead d', 'demand', 'stockout']) expect(summary).toContain(header)
    for (const line of table) expect(line.length).toBeLessThanOrEqual(120)
  })

  test('standard input with -, settings from the environment', () => {
    const result = run(source('replay', '-', '--json', '--data-dir', 'out-stdin'), {
      stdin: input,
      env: { ALERT_THRESHOLD: '1.0' },
    })
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout).events.read).toBe(5)
  })

  test('a bad setting is one line naming the variable, before anything is read', () => {
    const result = run(source('replay', inputPath, '--data-dir', 'never'), { env: { SERVICE_LEVEL: '1.5' } })
    expect(result.code).toBe(2)
    expect(result.stderr.trim()).toBe(
      'invpipe: invalid SERVICE_LEVEL="1.5": expected a probability with 0 < x < 1',
    )
    expect(readdirSync(dir)).not.toContain('never')
    const flag = run(source('replay', inputPath, '--batch-size', '0'))
    expect(flag.stderr.trim()).toBe(
      'invpipe: invalid BATCH_SIZE="0" (from --batch-size): expected a whole number from 1 to 1000000',
    )
  })

  test('a missing file is a one-line error', () => {
    const result = run(source('replay', inputPath, 'missing.jsonl'))
    expect(result.code).toBe(2)
    expect(result.stderr.trim()).toBe('invpipe: missing.jsonl: cannot read (ENOENT)')
  })

  test('--help lists the commands, and replay --help its options', () => {
    expect(run(source('--help')).stdout).toContain('replay')
    const help = run(source('replay', '--help')).stdout
    expect(help).toContain('--rejects')
    expect(help).toContain('LEAD_TIME_DAYS')
  })
})

describe('the compiled binary', () => {
  const binDir = join(dir, 'bin')
  beforeAll(() => {
    const build = Bun.spawnSync(['bun', 'run', 'build'], { cwd: ROOT })
    if (build.exitCode !== 0) throw new Error(build.stderr.toString())
    Bun.spawnSync(['mkdir', '-p', binDir])
    copyFileSync(join(ROOT, 'dist/invpipe'), join(binDir, 'invpipe'))
    Bun.spawnSync(['chmod', '+x', join(binDir, 'invpipe')])
  })

  test('runs with neither Bun nor node_modules: --version, replay', () => {
    const env = { PATH: '/usr/bin:/bin' }
    const version = run(['./invpipe', '--version'], { cwd: binDir, env })
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version)
    const replayed = run(['./invpipe', 'replay', inputPath, '--json', '--data-dir', 'data'], {
      cwd: binDir,
      env,
    })
    expect(replayed.code).toBe(0)
    expect(JSON.parse(replayed.stdout).events.accepted).toBe(3)
    expect(readdirSync(join(binDir, 'data'))[0]).toMatch(/\.parquet$/)
  })

  test('its worker threads are inside it: a file of more than 1 MiB is parsed on one, Parquet encoded on another', () => {
    const env = { PATH: '/usr/bin:/bin' }
    const generated = run(['./invpipe', 'generate', '--events', '20000', '--output', 'big.jsonl'], {
      cwd: binDir,
      env,
    })
    expect(generated.code).toBe(0)
    expect(statSync(join(binDir, 'big.jsonl')).size).toBeGreaterThan(PARSE_WORKER_FROM_BYTES)
    const replayed = run(['./invpipe', 'replay', 'big.jsonl', '--json', '--data-dir', 'big-data'], {
      cwd: binDir,
      env,
    })
    expect(replayed.stderr).toBe('')
    expect(replayed.code).toBe(0)
    const events = JSON.parse(replayed.stdout).events
    expect(events.read).toBe(20_000)
    expect(events.accepted + events.rejected).toBe(20_000)
    expect(events.accepted).toBeGreaterThan(19_000)
  })
})
