// The day closes the engine writes rebuild, in PostgreSQL, exactly the predictions the event files
// give, under any batch boundaries, failed commits, restarts and an upgrade from a schema without
// closes. In process, against the real PostgreSQL: the pipeline's own pieces (Engine and the
// PostgresStore consume commits with and resumes from) driven as consume drives them, at seeded
// random points.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet'
import type { Sql } from 'postgres'
import { reportNotes, reportRecord } from '../src/backtest/report.ts'
import { backtestFiles, backtestHistory } from '../src/backtest/run.ts'
import { DEFAULT_CORE_CONFIG as core } from '../src/core/config.ts'
import { type Batch, Engine } from '../src/core/engine.ts'
import { itemKey, parseEvent, splitItemKey } from '../src/core/event.ts'
import { metricsRecord } from '../src/core/rows.ts'
import { snapshotOf } from '../src/core/snapshot.ts'
import { formatDay } from '../src/core/time.ts'
import { MIGRATIONS, migrate } from '../src/postgres/migrations.ts'
import { outgoingAlert } from '../src/sinks/kafka.ts'
import { ParquetOutbox } from '../src/sinks/parquet-outbox.ts'
import { type PartitionPosition, PostgresStore } from '../src/sinks/postgres.ts'
import { openInputs, PARQUET_DECOMPRESSORS } from '../src/sources/files.ts'
import { analyze, firstDifference } from './support/analyze.ts'
import { generatedLines } from './support/events.ts'
import { addDailyBefore8, closeRecordBefore7, salesAsPairs, storedCloses } from './support/old-schema.ts'
import { connect, Scenarios, storedResults } from './support/stack.ts'

// Bun's 5 s default is too short for a test that spawns processes on 2 loaded cores.
setDefaultTimeout(60_000)

const START = '2026-01-01'
const FIRST_DAY = Date.UTC(2026, 0, 1) / 86_400_000
const scenarios = new Scenarios()
let sql: Sql
let database = ''
const store = () => new PostgresStore(sql, 'group')
beforeAll(async () => {
  database = await scenarios.database('bt-history')
  sql = connect(database)
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

type Commit = (position: PartitionPosition, batch: Batch) => Promise<unknown>

/** As consume commits a batch now, alert messages included. */
const commitNow: Commit = (position, batch) =>
  store().commitBatch(
    position,
    batch,
    batch.alerts.map((alert) => outgoingAlert(alert, 0)),
  )

/**
 * As the release before risk version 2 committed a batch into schema version 1 or 2: the columns
 * it knew (json_populate_recordset ignores the rest), no day closes on schema 1, Parquet outbox rows
 * without the new fields, alert messages keyed on alert_id. The item states are today's (what the
 * new release resumes from; an old release's states lack the order book, which is not what is tested here).
 */
function commitAsSchema(version: 1 | 2): Commit {
  return (position, batch) =>
    sql.begin(async (tx) => {
      const { topic, partition, expectedOffset, nextOffset } = position
      const moved =
        expectedOffset === null
          ? await tx`INSERT INTO analytics.consumer_offsets (group_id, topic, partition, next_offset)
              VALUES ('group', ${topic}, ${partition}, ${nextOffset}) ON CONFLICT DO NOTHING`
          : await tx`UPDATE analytics.consumer_offsets SET next_offset = ${nextOffset}
              WHERE group_id = 'group' AND topic = ${topic} AND partition = ${partition} AND next_offset = ${expectedOffset}`
      if (moved.count !== 1) throw new Error('fenced')
      const records = batch.rows.map(metricsRecord)
      if (records.length > 0) {
        await tx`
          INSERT INTO analytics.processed_metrics
          SELECT * FROM json_populate_recordset(null::analytics.processed_metrics, ${JSON.stringify(records)}::text::json)
          ON CONFLICT (sku, warehouse_id) DO UPDATE SET
            as_of_date = excluded.as_of_date, last_event_at = excluded.last_event_at, event_count = excluded.event_count,
            on_hand = excluded.on_hand, velocity_7d = excluded.velocity_7d, velocity_30d = excluded.velocity_30d,
            volatility = excluded.volatility, trend = excluded.trend, seasonality_index = excluded.seasonality_index,
            days_of_history = excluded.days_of_history, lead_time_days = excluded.lead_time_days,
            expected_demand_lead_time = excluded.expected_demand_lead_time, stockout_risk = excluded.stockout_risk,
            risk_level = excluded.risk_level, days_of_cover = excluded.days_of_cover, safety_stock = excluded.safety_stock,
            reorder_point = excluded.reorder_point, reorder_quantity = excluded.reorder_quantity,
            computed_at = excluded.computed_at`
        const oldShape = records.map(
          ({ on_order: _, inventory_position: __, expected_stockout_date: ___, ...rest }) => rest,
        )
        await tx`INSERT INTO analytics.metrics_outbox (row)
          SELECT value FROM jsonb_array_elements(${JSON.stringify(oldShape)}::text::jsonb)`
      }
      await addDailyBefore8(tx, batch.daily)
      if (version === 2 && batch.closes.length > 0)
        await tx`
          INSERT INTO analytics.daily_close
          SELECT * FROM json_populate_recordset(null::analytics.daily_close, ${JSON.stringify(batch.closes.map(closeRecordBefore7))}::text::json)
          ON CONFLICT (sku, warehouse_id, date) DO UPDATE SET
            on_hand = excluded.on_hand, first_date = excluded.first_date, lead_time_days = excluded.lead_time_days,
            sales_dates = excluded.sales_dates, sales_units = excluded.sales_units`
      if (batch.states.length > 0) {
        const states = batch.states.map((state) => {
          const [sku, warehouseId] = splitItemKey(state.key)
          return { sku, warehouse_id: warehouseId, state: snapshotOf(state) }
        })
        await tx`
          INSERT INTO analytics.item_state (group_id, sku, warehouse_id, topic, partition, state)
          SELECT 'group', s.sku, s.warehouse_id, ${topic}, ${partition}, s.state
          FROM json_to_recordset(${JSON.stringify(states)}::text::json) AS s(sku text, warehouse_id text, state jsonb)
          ON CONFLICT (group_id, sku, warehouse_id) DO UPDATE SET
            state = excluded.state, topic = excluded.topic, partition = excluded.partition`
      }
      const alerts = batch.alerts.map((alert) => outgoingAlert(alert, 0))
      if (alerts.length > 0)
        await tx`
          INSERT INTO analytics.alert_outbox (alert_id, item_key, value)
          SELECT * FROM unnest(${alerts.map((a) => a.alertId)}::text[], ${alerts.map((a) => a.key)}::text[], ${alerts.map((a) => a.value)}::text[])
          ON CONFLICT (alert_id) DO NOTHING`
    })
}

/**
 * Runs a partition's lines up to `until` in random batches of 1–12, committed as consume commits
 * them: 15 % of commits fail (the engine restarts from PostgreSQL and the batch is redone), 15 %
 * are followed by a restart. `commit`: how a batch is written (an older release's way, for upgrades).
 */
async function consumeLike(partition: Partition, until: number, next: () => number, commit = commitNow) {
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
    await commit(position, batch)
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
  await sql`TRUNCATE analytics.daily_inventory, analytics.processed_metrics,
    analytics.item_state, analytics.consumer_offsets, analytics.metrics_outbox, analytics.alert_outbox`
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

/** An installation at an older schema version, its tables empty. */
async function schemaAt(version: number): Promise<void> {
  await sql`DROP SCHEMA analytics CASCADE`
  await sql`DROP TABLE public.invpipe_schema_migrations`
  await migrate(sql, MIGRATIONS.slice(0, version))
}

/** Restarts every partition from PostgreSQL and consumes the rest of its lines as consume does now. */
async function resumeToEnd(partitions: Partition[], next: () => number): Promise<void> {
  for (const partition of partitions) await restart(partition)
  for (const partition of partitions) await consumeLike(partition, partition.lines.length, next)
}

describe('upgrade from schema version 1 (no day closes)', () => {
  for (const seed of [11, 12, 13]) {
    test(`seed ${seed}: migration 2 stores every item's current close, even one without new events`, async () => {
      await schemaAt(1)
      const { path, lines } = streamOf(seed)
      const next = random(seed)
      const partitions = partitionLines(lines, 2)
      for (const partition of partitions)
        await consumeLike(partition, Math.floor(partition.lines.length / 2), next, commitAsSchema(1))
      // The upgrade: migrate, then the new version starts from the saved states.
      expect(await migrate(sql)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
      const [saved] = await sql<{ items: number; day: number }[]>`
        SELECT count(*)::int AS items, max(floor((state->>'latestTs')::float8 / 86400000))::int AS day
        FROM analytics.item_state`
      await resumeToEnd(partitions, next)
      const [stored] = await sql<{ items: number; quiet: number; states: number }[]>`
        SELECT count(DISTINCT (sku, warehouse_id))::int AS items,
          count(*) FILTER (WHERE sku = 'SKU-QUIET')::int AS quiet,
          (SELECT count(*)::int FROM analytics.item_state) AS states
        FROM analytics.daily_inventory WHERE sales IS NOT NULL`
      expect(stored).toEqual({ items: stored?.states as number, quiet: 1, states: stored?.states as number })
      expect(stored?.states).toBeGreaterThanOrEqual(saved?.items as number)
      const { fromHistory, fromFiles } = await compare(path, saved?.day as number, 99_999)
      expect(fromHistory.closes.scored).toBeGreaterThan(0)
      expect(firstDifference(fromHistory, fromFiles)).toBeNull()
    })
  }
})

describe('upgrade from schema version 2 (before risk version 2)', () => {
  for (const seed of [14, 15]) {
    test(`seed ${seed}: migration 3 keeps every row, gives the new columns their values, and consume goes on`, async () => {
      await schemaAt(2)
      const { path, lines } = streamOf(seed)
      const next = random(seed)
      const partitions = partitionLines(lines, 2)
      for (const partition of partitions)
        await consumeLike(partition, Math.floor(partition.lines.length / 2), next, commitAsSchema(2))
      /** `closes`: where the closes are (their own table before schema 8). */
      const tables = async (closes: string) => {
        const [counts] = await sql<Record<string, number>[]>`
          SELECT (SELECT count(*)::int FROM analytics.processed_metrics) AS metrics,
            (SELECT count(*)::int FROM analytics.daily_inventory) AS daily,
            (SELECT count(*)::int FROM ${sql.unsafe(closes)}) AS closes,
            (SELECT count(*)::int FROM analytics.item_state) AS states,
            (SELECT count(*)::int FROM analytics.metrics_outbox) AS outbox,
            (SELECT count(*)::int FROM analytics.alert_outbox) AS alerts`
        return counts as Record<string, number>
      }
      const metricsBefore = await sql`SELECT * FROM analytics.processed_metrics ORDER BY sku, warehouse_id`
      const closesBefore = await sql`SELECT * FROM analytics.daily_close ORDER BY sku, warehouse_id, date`
      const alertsBefore = await sql<{ alert_id: string; value: string }[]>`
        SELECT alert_id, value FROM analytics.alert_outbox ORDER BY created_at, alert_id`
      const before = await tables('analytics.daily_close')
      expect(before.outbox).toBeGreaterThan(0)
      expect(before.alerts).toBeGreaterThan(0)

      expect(await migrate(sql)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11])
      expect(await tables('analytics.daily_inventory WHERE sales IS NOT NULL')).toEqual(before)
      // Every row kept as it was; the new columns: nothing on order (no purchase order could be
      // accepted before), so the position is the on-hand; no expected stockout date yet.
      const metricsAfter = await sql`SELECT * FROM analytics.processed_metrics ORDER BY sku, warehouse_id`
      expect(
        metricsAfter.map(
          ({ on_order: _, inventory_position: __, expected_stockout_date: ___, ...rest }) => rest,
        ),
      ).toEqual([...metricsBefore])
      for (const row of metricsAfter) {
        expect(row.on_order).toBe(0)
        expect(row.inventory_position).toBe(row.on_hand)
        expect(row.expected_stockout_date).toBeNull()
      }
      // The closes too (their sales as pairs since migration 7, in their day's row of the daily
      // history since 8); the current close of each item takes its model from the saved state.
      const closesAfter = await storedCloses(sql)
      expect(closesAfter.map(({ model: _, ...rest }) => rest)).toEqual(closesBefore.map(salesAsPairs))
      const [models] = await sql<{ current: number; with_model: number }[]>`
        SELECT count(*) FILTER (WHERE c.date = date '1970-01-01' + floor((s.state->>'latestTs')::float8 / 86400000)::int)::int AS current,
          count(*) FILTER (WHERE c.model IS NOT NULL)::int AS with_model
        FROM analytics.daily_inventory c JOIN analytics.item_state s USING (sku, warehouse_id)
        WHERE c.sales IS NOT NULL`
      expect(models?.with_model).toBe(models?.current as number)
      // The alert messages waiting to be sent are still there, in their order, named by their alert_id.
      const unsent = await store().unsentAlerts(0)
      expect(unsent.map((a) => [a.messageId, a.value])).toEqual(
        alertsBefore.map((a) => [a.alert_id, a.value]),
      )
      await store().markAlertsSent(unsent.map((a) => a.outboxId))
      // The Parquet outbox's rows drain into a file with every column of the new schema.
      const dataDir = join(scenarios.scratchDir, `upgrade-${seed}`)
      const outbox = new ParquetOutbox(sql, {
        dataDir,
        rowsPerFile: 1_000_000,
        maxWaitMs: 0,
        instance: 'test',
      })
      const [file] = await outbox.drain(Date.now(), true)
      outbox.close()
      const drained = (await parquetReadObjects({
        file: await asyncBufferFromFile(file as string),
        compressors: PARQUET_DECOMPRESSORS,
      })) as Record<string, unknown>[]
      expect(drained).toHaveLength(before.outbox as number)
      for (const row of drained) {
        expect(row.on_order).toBe(0)
        expect(row.inventory_position).toBe(row.on_hand)
        expect(row.expected_stockout_date).toBeNull()
      }

      const [saved] = await sql<{ day: number }[]>`
        SELECT max(floor((state->>'latestTs')::float8 / 86400000))::int AS day FROM analytics.item_state`
      await resumeToEnd(partitions, next)
      // The latest rows are those of the core now, except the quiet item's, which no event replaced.
      const final = await storedResults(database)
      const expected = analyze(lines).final
      const quiet = (rows: Record<string, unknown>[]) => rows.filter((row) => row.sku === 'SKU-QUIET')
      const others = (rows: Record<string, unknown>[]) => rows.filter((row) => row.sku !== 'SKU-QUIET')
      expect(firstDifference(others(final.final), others(expected))).toBeNull()
      expect(quiet(final.final)).toEqual([
        {
          ...quiet(expected)[0],
          on_order: 0,
          inventory_position: quiet(expected)[0]?.on_hand,
          expected_stockout_date: null,
        },
      ])
      // The new messages wait in the outbox, one row each, under their own message_id.
      const messages = await store().unsentAlerts(0, 100_000)
      expect(new Set(messages.map((m) => m.messageId)).size).toBe(messages.length)
      for (const message of messages) expect(JSON.parse(message.value).message_id).toBe(message.messageId)
      const { fromHistory, fromFiles } = await compare(path, saved?.day as number, 99_999)
      expect(fromHistory.closes.scored).toBeGreaterThan(0)
      expect(firstDifference(fromHistory, fromFiles)).toBeNull()
    })
  }
})

describe('item states in analytics.item_state', () => {
  test('round-trip through PostgreSQL: order book, delivery record, unplanned receipts, out-of-stock days, open episode', async () => {
    await emptyTables()
    const event = (id: string, sku: string, type: string, quantity: number, timestamp: string, extra = {}) =>
      JSON.stringify({
        event_id: id,
        event_type: type,
        sku,
        warehouse_id: 'WH-RT',
        quantity,
        timestamp,
        ...extra,
      })
    const day = (d: number, hour = 12) =>
      `2026-03-${String(d).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00Z`
    const lines = [
      // A: a receipt before its order (a receipt-only entry), an order delivered late and short,
      // an order still open, stockouts (censored days), and an alert episode left open.
      event('a1', 'A', 'stock_count', 30, day(1, 8)),
      event('a2', 'A', 'restock', 4, day(1, 9), { order_id: 'PO-EARLY' }),
      event('a3', 'A', 'purchase_order', 40, day(1, 10), { order_id: 'PO-1', expected_at: day(4) }),
      ...Array.from({ length: 9 }, (_, i) => event(`a-s${i}`, 'A', 'sale', 6 + (i % 3), day(2 + i, 10))),
      event('a4', 'A', 'restock', 25, day(7, 11), { order_id: 'PO-1' }),
      event('a5', 'A', 'purchase_order', 30, day(9, 9), { order_id: 'PO-2' }),
      event('a6', 'A', 'sale', 60, day(10, 15)),
      // B: never an order; unplanned receipts, the first before its stock is known (level unknown).
      event('b1', 'B', 'restock', 10, day(1, 8)),
      event('b2', 'B', 'stock_count', 12, day(2, 8)),
      ...Array.from({ length: 8 }, (_, i) => event(`b-s${i}`, 'B', 'sale', 2 + (i % 2), day(2 + i, 12))),
      event('b3', 'B', 'restock', 15, day(5, 13)),
      event('b4', 'B', 'restock', 2, day(8, 13)),
    ]
    const live = new Engine(core, { trackDaily: true })
    for (const line of lines) {
      const parsed = parseEvent(line)
      if (!parsed.ok) throw new Error(`${line}: ${parsed.rejection.message}`)
      live.process(parsed.event)
    }
    const batch = live.flush(0)
    const states = new Map(batch.states.map((state) => [state.key, state]))
    const a = states.get('A:WH-RT')
    const b = states.get('B:WH-RT')
    // The stream covers what the state must carry.
    expect(a?.orders?.some((order) => Number.isNaN(order.expectedDay))).toBe(true)
    expect(a?.deliveries?.length).toBeGreaterThan(0)
    expect(a?.outDays?.length).toBeGreaterThan(0)
    expect(a?.episode).not.toBeNull()
    expect(b?.unplanned?.length).toBeGreaterThanOrEqual(9)
    await store().commitBatch(
      { topic: TOPIC, partition: 0, expectedOffset: null, nextOffset: lines.length },
      batch,
      [],
    )
    const saved = await store().loadPartition(TOPIC, 0)
    expect(saved.states.map((state) => state.key).sort()).toEqual(['A:WH-RT', 'B:WH-RT'])
    for (const restored of saved.states)
      expect(snapshotOf(restored)).toEqual(snapshotOf(states.get(restored.key) as never))
    // And what the state is for: the same rows, and the same next messages, as the engine that never stopped.
    const resumed = new Engine(core, { trackDaily: true })
    resumed.restore(saved.states)
    expect([...resumed.currentRows(0)].sort(byKey)).toEqual([...live.currentRows(0)].sort(byKey))
    const later = [
      event('a7', 'A', 'restock', 30, day(11, 9), { order_id: 'PO-2' }),
      event('b5', 'B', 'sale', 3, day(11, 9)),
    ]
    for (const engine of [live, resumed])
      for (const line of later) {
        const parsed = parseEvent(line)
        if (parsed.ok) engine.process(parsed.event)
      }
    const [fromLive, fromResumed] = [live.flush(0), resumed.flush(0)]
    expect(fromResumed.rows).toEqual(fromLive.rows)
    expect(fromResumed.alerts).toEqual(fromLive.alerts)
  })
})

describe('a day and its close in one row of analytics.daily_inventory', () => {
  test("a commit of late events only replaces the item's current close and leaves that day's history", async () => {
    await emptyTables()
    const event = (id: string, type: string, quantity: number, day: number) =>
      JSON.stringify({
        event_id: id,
        event_type: type,
        sku: 'LATE',
        warehouse_id: 'WH-1',
        quantity,
        timestamp: `2026-03-0${day}T12:00:00Z`,
      })
    const engine = new Engine(core, { trackDaily: true })
    const commit = async (lines: string[], expectedOffset: number | null, nextOffset: number) => {
      for (const line of lines) {
        const parsed = parseEvent(line)
        if (parsed.ok) engine.process(parsed.event)
      }
      await store().commitBatch(
        { topic: TOPIC, partition: 0, expectedOffset, nextOffset },
        engine.flush(0),
        [],
      )
    }
    // Commit 1: 10 counted on March 1, 2 sold on March 3. Commit 2: 1 sold on March 2, arriving late.
    await commit([event('c1', 'stock_count', 10, 1), event('s3', 'sale', 2, 3)], null, 2)
    await commit([event('s2', 'sale', 1, 2)], 2, 3)
    const days = async () => [
      ...(await sql`
        SELECT to_char(date, 'MM-DD') AS date, sold, closing_on_hand, stockout, close_on_hand, sales
        FROM analytics.daily_inventory ORDER BY date`),
    ]
    const march = (day: number) => Date.UTC(2026, 2, day) / 86_400_000
    const march1 = {
      date: '03-01',
      sold: 0,
      closing_on_hand: 10,
      stockout: false,
      close_on_hand: 10,
      sales: [],
    }
    const march2 = {
      date: '03-02',
      sold: 1,
      closing_on_hand: 7,
      stockout: false,
      close_on_hand: null,
      sales: null,
    }
    expect(await days()).toEqual([
      // Closed when March 3's sale moved the item past it.
      march1,
      // The late sale's day: its history (the on-hand after it, SPEC §3), and no close (the item's
      // stream never stood at March 2).
      march2,
      // March 3's history as commit 1 left it; its close as the item stands after the late sale.
      {
        date: '03-03',
        sold: 2,
        closing_on_hand: 8,
        stockout: false,
        close_on_hand: 7,
        sales: [march(2), 1, march(3), 2],
      },
    ])
    // Commit 3: 1 sold on March 1, late too: that day's units grow and its close stays as it was.
    await commit([event('s1', 'sale', 1, 1)], 3, 4)
    expect(await days()).toEqual([
      { ...march1, sold: 1, closing_on_hand: 6 },
      march2,
      {
        date: '03-03',
        sold: 2,
        closing_on_hand: 8,
        stockout: false,
        close_on_hand: 6,
        sales: [march(1), 1, march(2), 1, march(3), 2],
      },
    ])
    // The rest of the close, as backtest reads it: no lead time from the events, nothing on order, no
    // order received, no restock, no count, no return.
    const [rest] = await sql`
      SELECT first_date::text, lead_time_days, model FROM analytics.daily_inventory WHERE date = '2026-03-03'`
    expect(rest).toEqual({
      first_date: '2026-03-01',
      lead_time_days: null,
      model: {
        outDays: [],
        orders: [],
        deliveries: [],
        unplanned: [],
        unplannedDaysOut: [],
        reorders: [],
        restockDays: [],
        counts: [],
        returns: [],
      },
    })
  })
})

const byKey = (a: { sku: string; warehouseId: string }, b: { sku: string; warehouseId: string }) =>
  a.sku + a.warehouseId < b.sku + b.warehouseId ? -1 : 1

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
