// `invpipe backtest` with no file reads the history that `consume` stored in PostgreSQL
// (analytics.daily_inventory: the days and their closes), through the real stack: Apache Kafka,
// PostgreSQL. The report must be the one the event files give, figure for figure, whatever the
// batch size consume ran with (closes are taken inside batches and across them).
import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { reportRecord } from '../src/backtest/report.ts'
import { backtestFiles, backtestHistory } from '../src/backtest/run.ts'
import { DEFAULT_CORE_CONFIG as core } from '../src/core/config.ts'
import { dayOf, formatDay } from '../src/core/time.ts'
import { migrate } from '../src/postgres/migrations.ts'
import { openInputs } from '../src/sources/files.ts'
import { invpipe } from './support/cli.ts'
import { generatedLines } from './support/events.ts'
import { type ConsumeRun, connect, ROOT, Scenarios, startConsume } from './support/stack.ts'
import { expectSubset } from './support/subset.ts'

// Bun's 5 s default is too short for a test that spawns processes on 2 loaded cores.
setDefaultTimeout(60_000)

const FIXTURES = join(ROOT, 'fixtures/backtest')
const scenarios = new Scenarios()
afterAll(() => scenarios.cleanup())

function backtest(args: string[], env: Record<string, string> = {}) {
  const result = invpipe(['backtest', ...args, '--json'], { env })
  if (result.code !== 0) throw new Error(`backtest exited ${result.code}: ${result.stderr}`)
  return JSON.parse(result.stdout)
}

/** A backtest of the history with bounds relative to today, and the day it took for today (rerun across midnight UTC). */
function historyFromToday(args: string[], database: string) {
  for (;;) {
    const today = dayOf(Date.now())
    const report = backtest(args, { POSTGRES_DB: database })
    if (dayOf(Date.now()) === today) return { report, today }
  }
}

async function consumeAll(run: ConsumeRun): Promise<void> {
  const proc = startConsume(run)
  const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()])
  if (code !== 0) throw new Error(`consume exited ${code}:\n${stderr.slice(-3000)}`)
}

/** The report without what only says where the input came from. */
function figures(report: { source: unknown; events: unknown }) {
  const { source: _, events: __, ...rest } = report
  return rest
}

function writeLines(name: string, lines: string[]): string {
  const path = join(scenarios.scratchDir, name)
  writeFileSync(path, `${lines.join('\n')}\n`)
  return path
}

/** The flags of a fixture's arguments other than the window (--since/--until and their values). */
function settingArgs(args: string[]): string[] {
  const kept: string[] = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    if (arg === '--since' || arg === '--until') i++
    else if (arg.startsWith('--')) kept.push(arg, args[++i] as string)
  }
  return kept
}

describe('the PostgreSQL history gives the report the event files give', () => {
  for (const name of ['two_items', 'late_and_carry']) {
    for (const batchSize of [1, 4, 500]) {
      test(`${name}, consumed in batches of ${batchSize}: every hand-worked figure`, async () => {
        const path = join(FIXTURES, name, 'events.jsonl')
        const lines = readFileSync(path, 'utf8').trim().split('\n')
        const expected = JSON.parse(readFileSync(join(FIXTURES, name, 'expected.json'), 'utf8'))
        const run = await scenarios.prepare(`bt-${name}-${batchSize}`, lines, batchSize)
        await consumeAll(run)
        // Relative bounds count from today for the history: name the fixture's window by its dates.
        const window = ['--since', expected.window.since, '--until', expected.window.until]
        // The fixture's settings (every flag after the window's, e.g. --lead-time-days, --alert-threshold).
        const settings = settingArgs(expected.args as string[])
        const fromHistory = backtest([...window, ...settings], { POSTGRES_DB: run.database })
        const fromFile = backtest([path, ...window, ...settings])
        expect(figures(fromHistory)).toEqual(figures(fromFile))
        expect(fromHistory.source).toEqual({
          kind: 'postgresql',
          database: expect.stringContaining(`/${run.database}`),
        })
        expect(fromHistory.events).toBeNull()
        const { args: _, events: __, ...handWorked } = expected
        expectSubset(fromHistory, handWorked)
      }, 120_000)
    }
  }

  test('a generated stream near today (late, duplicate and malformed events): --since counts back from today', async () => {
    const today = dayOf(Date.now())
    const generated = generatedLines({
      events: 4000,
      skus: 4,
      warehouses: 2,
      days: 50,
      start: formatDay(today - 50),
      seed: 20261125,
    })
    // An item first seen after the earlier windows below: it counts among the items all the same.
    const newcomer = [3, 2].map((ago, i) =>
      JSON.stringify({
        event_id: `new-${i}`,
        event_type: i === 0 ? 'stock_count' : 'sale',
        sku: 'SKU-NEW',
        warehouse_id: 'WH-01',
        quantity: i === 0 ? 40 : 5,
        timestamp: `${formatDay(today - ago)}T12:00:00Z`,
      }),
    )
    // An item that runs out inside both windows below, whatever the generator makes of its seed:
    // the windows' reports then hold stockouts for the two sources to agree on.
    const runsOut = [
      { event_type: 'stock_count', quantity: 10, ago: 20 },
      ...[19, 18, 17, 16].map((ago) => ({ event_type: 'sale', quantity: 3, ago })),
    ].map(({ ago, ...event }, i) =>
      JSON.stringify({
        ...event,
        event_id: `out-${i}`,
        sku: 'SKU-OUT',
        warehouse_id: 'WH-01',
        timestamp: `${formatDay(today - ago)}T12:00:00Z`,
      }),
    )
    const lines = [...generated, ...newcomer, ...runsOut]
    const run = await scenarios.prepare('bt-generated', lines, 37)
    await consumeAll(run)
    const path = writeLines('generated.jsonl', lines)
    for (const [since, until] of [
      [30, 0],
      [40, 3],
    ] as const) {
      const fromHistory = historyFromToday(['--since', `${since}d`, '--until', `${until}d`], run.database)
      const day = fromHistory.today
      expect(fromHistory.report.window.since).toBe(formatDay(day - since + 1))
      expect(fromHistory.report.window.until).toBe(formatDay(day - until))
      const fromFile = backtest([
        path,
        '--since',
        formatDay(day - since + 1),
        '--until',
        formatDay(day - until),
      ])
      expect(fromHistory.report.closes.scored).toBeGreaterThan(50)
      expect(fromHistory.report.model.stockouts).toBeGreaterThan(0)
      expect(figures(fromHistory.report)).toEqual(figures(fromFile))
    }

    // In process, fetching 7 rows at a time so that items span fetches; windows ending before the newcomer.
    const sql = connect(run.database)
    try {
      for (const [since, until] of [
        [today - 40, today - 10],
        [today - 25, today - 20],
      ] as const) {
        const bounds = {
          since: { kind: 'date', day: since },
          until: { kind: 'date', day: until },
        } as const
        const history = await backtestHistory({
          sql,
          database: run.database,
          today,
          core,
          ...bounds,
          cursorRows: 7,
        })
        const files = await backtestFiles({ inputs: openInputs([path]), core, ...bounds })
        // The generated 8, the newcomer and the item that runs out.
        expect(history.report.items).toBe(8 + 2)
        expect(figures(reportRecord(history.report))).toEqual(figures(reportRecord(files.report)))
      }
    } finally {
      await sql.end()
    }
  }, 180_000)

  test('replay --sinks postgres stores the same history', async () => {
    const path = join(FIXTURES, 'two_items', 'events.jsonl')
    const database = await scenarios.database('bt-replay')
    const env = { POSTGRES_DB: database }
    const replay = Bun.spawnSync(
      ['bun', join(ROOT, 'src/main.ts'), 'replay', path, '--sinks', 'postgres', '--batch-size', '3'],
      { env: { PATH: process.env.PATH ?? '', DATA_DIR: scenarios.scratchDir, ...env } },
    )
    expect(replay.exitCode).toBe(0)
    const window = ['--since', '2024-03-01', '--until', '2024-03-10']
    expect(figures(backtest(window, env))).toEqual(figures(backtest([path, ...window])))
  }, 60_000)
})

describe('no history', () => {
  test('an empty or unmigrated database is a one-line error, exit 2', async () => {
    const database = await scenarios.database('bt-empty')
    const run = (env: Record<string, string>) =>
      invpipe(['backtest'], { env: { POSTGRES_DB: database, ...env } })
    const unmigrated = run({})
    expect(unmigrated.code).toBe(2)
    expect(unmigrated.stderr.trim()).toMatch(
      /^invpipe: no history in PostgreSQL: the database is not migrated \(run `invpipe migrate` and `invpipe consume` first\)/,
    )
    const sql = connect(database)
    await migrate(sql)
    await sql.end()
    const empty = run({})
    expect(empty.code).toBe(2)
    expect(empty.stderr.trim()).toMatch(
      /^invpipe: no history in PostgreSQL: analytics.daily_inventory holds no day closes/,
    )
    // A history stored before the closes moved into the daily history (schema 8): migrate first.
    const older = await scenarios.database('bt-older')
    const olderSql = connect(older)
    await migrate(olderSql)
    await olderSql`DELETE FROM public.invpipe_schema_migrations WHERE version >= 8`
    await olderSql.end()
    const outdated = run({ POSTGRES_DB: older })
    expect(outdated.code).toBe(2)
    expect(outdated.stderr.trim()).toMatch(
      /^invpipe: no history in PostgreSQL: its schema is at version 7, invpipe backtest reads version 8 \(run `invpipe migrate`/,
    )
    const badSetting = run({ POSTGRES_PORT: 'x' })
    expect(badSetting.code).toBe(2)
    expect(badSetting.stderr.trim()).toContain('POSTGRES_PORT')
  })
})
