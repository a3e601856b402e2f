// The day closes the engine writes rebuild, in PostgreSQL, exactly the predictions the event files
// give, under any batch boundaries, failed commits, restarts and an upgrade from a schema without
// closes. In process, against the real PostgreSQL: the pipeline's own pieces (Engine and the
// PostgresStore consume commits with and resumes from) driven as consume drives them, at seeded
// random points.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Sql } from 'postgres'
import { reportNotes, reportRecord } from '../src/backtest/report.ts'
import { backtestFiles, backtestHistory } from '../src/backtest/run.ts'
import { DEFAULT_CORE_CONFIG as core } from '../src/core/config.ts'
import { Engine } from '../src/core/engine.ts'
import { itemKey, parseEvent } from '../src/core/event.ts'
import { formatDay } from '../src/core/time.ts'
import { MIGRATIONS, migrate } from '../src/postgres/migrations.ts'
import { PostgresStore } from '../src/sinks/postgres.ts'
import { openInputs } from '../src/sources/files.ts'
import { firstDifference } from './support/analyze.ts'
import { generatedLines } from './support/events.ts'
import { connect, Scenarios } from './support/stack.ts'

// Bun's 5 s default is too short for a test that spawns processes on 2 loaded cores.
setDefaultTimeout(60_000)

const START = '2026-01-01'
const FIRST_DAY = Date.UTC(2026, 0, 1) / 86_400_000
const scenarios = new Scenarios()
let sql: Sql
const store = () => new PostgresStore(sql, 'group')
beforeAll(async () => {
  sql = connect(await scenarios.database('bt-history'))
  await migrate(sql)
})
afterAll(async () => {
  await sql.end()
  await scenarios.cleanup()
})

/** A deterministic sequence in [0, 1) (mulberry32), so a failing seed can be rerun. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

const TOPIC = 'events'

interface Partition {
  number: number
  engine: Engine
  lines: string[]
  /** Lines committed: the partition's offset in PostgreSQL. */
  committed: number
}

/** As consume takes a partition: a new engine with the states and the offset PostgreSQL holds. */
async function restart(partition: Partition): Promise<void> {
  const saved = await store().loadPartition(TOPIC, partition.number)
  partition.engine = new Engine(core, { trackDaily: true })
  partition.engine.restore(saved.states)
  partition.committed = saved.nextOffset ?? 0
}

/** Lines to partitions by item key, as Kafka's keyed partitioning does (unparseable lines anywhere). */
function partitionLines(lines: string[], count: number): Partition[] {
  const partitions = Array.from({ length: count }, (_, number) => ({
    number,
    engine: new Engine(core, { trackDaily: true }),
    lines: [] as string[],
    committed: 0,
  }))
  for (const line of lines) {
    const parsed = parseEvent(line)
    const key = parsed.ok ? itemKey(parsed.event.sku, parsed.event.warehouseId) : 'unparseable'
    let hash = 0
    for (let i = 0; i < key.length; i++) hash = (hash * 31 + key.charCodeAt(i)) % 997
    partitions[hash % count]?.lines.push(line)
  }
  return partitions
}

/**
 * Runs a partition's lines up to `until` in random batches of 1–12, committed as consume commits
 * them: 15 % of commits fail (the engine restarts from PostgreSQL and the batch is redone), 15 %
 * are followed by a restart. `withoutCloses`: the batches are written as version 1 wrote them.
 */
async function consumeLike(partition: Partition, until: number, next: () => number, withoutCloses = false) {
  while (partition.committed < until) {
    const chunk = partition.lines.slice(
      partition.committed,
      Math.min(until, partition.committed + 1 + Math.floor(next() * 12)),
    )
    for (const line of chunk) {
      const parsed = parseEvent(line)
      if (parsed.ok) partition.engine.process(parsed.event)
    }
    const batch = partition.engine.flush(0)
    if (next() < 0.15) {
      await restart(partition)
      continue
    }
    const position = {
      topic: TOPIC,
      partition: partition.number,
      expectedOffset: partition.committed === 0 ? null : partition.committed,
      nextOffset: partition.committed + chunk.length,
    }
    await store().commitBatch(position, withoutCloses ? { ...batch, closes: [] } : batch, [])
    partition.committed += chunk.length
    if (next() < 0.15) await restart(partition)
  }
}

async function compare(path: string, since: number, until: number) {
  const bounds = { since: { kind: 'date', day: since }, until: { kind: 'date', day: until } } as const
  const history = await backtestHistory({ sql, database: 'test', today: 0, core, ...bounds, cursorRows: 3 })
  const files = await backtestFiles({ inputs: openInputs([path]), core, ...bounds })
  const { source: _, events: __, ...fromHistory } = reportRecord(history.report)
  const { source: ___, events: ____, ...fromFiles } = reportRecord(files.report)
  return { fromHistory, fromFiles }
}

/** An item whose only events come first: after an upgrade half-way, it has no new events. */
const QUIET_ITEM = [
  { event_id: 'quiet-1', event_type: 'stock_count', quantity: 30, timestamp: `${START}T01:00:00Z` },
  { event_id: 'quiet-2', event_type: 'sale', quantity: 2, timestamp: `${START}T02:00:00Z` },
].map((event) => JSON.stringify({ ...event, sku: 'SKU-QUIET', warehouse_id: 'WH-01' }))

function streamOf(seed: number): { path: string; lines: string[] } {
  const generated = generatedLines({ events: 700, skus: 4, warehouses: 2, days: 40, start: START, seed })
  const lines = [...QUIET_ITEM, ...generated]
  const path = join(scenarios.scratchDir, `stream-${seed}.jsonl`)
  writeFileSync(path, `${lines.join('\n')}\n`)
  return { path, lines }
}

async function emptyTables(): Promise<void> {
  await sql`TRUNCATE analytics.daily_close, analytics.daily_inventory, analytics.processed_metrics,
    analytics.item_state, analytics.consumer_offsets, analytics.metrics_outbox`
}

describe('closes stored batch by batch give the files’ backtest', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    test(`seed ${seed}: random batches, failed commits and restarts over 1–3 partitions`, async () => {
      await emptyTables()
      const { path, lines } = streamOf(seed)
      const next = random(seed)
      const partitions = partitionLines(lines, 1 + Math.floor(next() * 3))
      for (const partition of partitions) await consumeLike(partition, partition.lines.length, next)
      for (const [since, until] of [
        [0, 99_999],
        [FIRST_DAY + 10, FIRST_DAY + 20],
        [FIRST_DAY + 3, FIRST_DAY + 3],
        [FIRST_DAY + 30, FIRST_DAY + 90],
      ] as const) {
        const { fromHistory, fromFiles } = await compare(path, since, until)
        const difference = firstDifference(fromHistory, fromFiles)
        expect(
          difference === null ? null : `${formatDay(since)} … ${formatDay(until)}: ${difference}`,
        ).toBeNull()
      }
    })
  }
})

describe('upgrade from schema version 1 (no day closes)', () => {
  for (const seed of [11, 12, 13]) {
    test(`seed ${seed}: migration 2 stores every item's current close, even one without new events`, async () => {
      await sql`DROP SCHEMA analytics CASCADE`
      await sql`DROP TABLE public.invpipe_schema_migrations`
      await migrate(sql, MIGRATIONS.slice(0, 1))
      const { path, lines } = streamOf(seed)
      const next = random(seed)
      const partitions = partitionLines(lines, 2)
      for (const partition of partitions)
        await consumeLike(partition, Math.floor(partition.lines.length / 2), next, true)
      // The upgrade: migrate, then the new version starts from the saved states.
      expect(await migrate(sql)).toEqual([2])
      const [saved] = await sql<{ items: number; day: number }[]>`
        SELECT count(*)::int AS items, max(floor((state->>'latestTs')::float8 / 86400000))::int AS day
        FROM analytics.item_state`
      for (const partition of partitions) await restart(partition)
      for (const partition of partitions) await consumeLike(partition, partition.lines.length, next)
      const [stored] = await sql<{ items: number; quiet: number; states: number }[]>`
        SELECT count(DISTINCT (sku, warehouse_id))::int AS items,
          count(*) FILTER (WHERE sku = 'SKU-QUIET')::int AS quiet,
          (SELECT count(*)::int FROM analytics.item_state) AS states
        FROM analytics.daily_close`
      expect(stored).toEqual({ items: stored?.states as number, quiet: 1, states: stored?.states as number })
      expect(stored?.states).toBeGreaterThanOrEqual(saved?.items as number)
      const { fromHistory, fromFiles } = await compare(path, saved?.day as number, 99_999)
      expect(fromHistory.closes.scored).toBeGreaterThan(0)
      expect(firstDifference(fromHistory, fromFiles)).toBeNull()
    })
  }
})

test('a window after the data end says so, for the history as for files', async () => {
  await emptyTables()
  const { path, lines } = streamOf(21)
  const [partition] = partitionLines(lines, 1)
  if (partition === undefined) throw new Error('no partition')
  await consumeLike(partition, partition.lines.length, random(21))
  const since = FIRST_DAY + 400
  const history = await backtestHistory({
    sql,
    database: 'test',
    today: since + 29,
    core,
    since: { kind: 'days', days: 30 },
    until: { kind: 'days', days: 0 },
  })
  expect(history.report.counts.closes).toBe(0)
  expect(reportNotes(history.report)).toEqual([
    expect.stringMatching(
      /^nothing could be scored: the window begins after the data end 2026-02-\d\d \(nothing was stored since; relative bounds count back from today for the PostgreSQL history\); name the days with --since and --until$/,
    ),
  ])
  const files = await backtestFiles({
    inputs: openInputs([path]),
    core,
    since: { kind: 'date', day: since },
    until: { kind: 'date', day: since + 29 },
  })
  expect(reportNotes(files.report)[0]).toMatch(
    /^nothing could be scored: the window begins after the data end/,
  )
})
