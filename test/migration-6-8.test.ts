// Migrations 6 (item states and day-close models as json instead of jsonb), 7 (a close's sales as
// one json array of pairs) and 8 (the closes in their day's row of the daily history) against the
// real PostgreSQL: an installation at schema version 5 upgrades keeping every state, day and close as
// it was, and consume resumes from the converted states to the same end as a run that never stopped.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Sql } from 'postgres'
import { DEFAULT_CORE_CONFIG as core } from '../src/core/config.ts'
import { type Batch, Engine } from '../src/core/engine.ts'
import { parseEvent } from '../src/core/event.ts'
import { type ItemSnapshot, snapshotOf } from '../src/core/snapshot.ts'
import { MIGRATIONS, migrate } from '../src/postgres/migrations.ts'
import { PostgresStore } from '../src/sinks/postgres.ts'
import { generatedLines } from './support/events.ts'
import { addDailyBefore8, closeRecordBefore7, salesAsPairs, storedCloses } from './support/old-schema.ts'
import { Scenarios } from './support/stack.ts'

const scenarios = new Scenarios()
let sql: Sql
beforeAll(async () => {
  ;({ sql } = await scenarios.migrated('migration-6', MIGRATIONS.slice(0, 5)))
})
afterAll(() => scenarios.cleanup())

const LINES = generatedLines({ events: 800, skus: 5, warehouses: 2, days: 30, seed: 6 })
const BATCH = 40

/** Runs lines [from, to) through the engine in batches, handing each batch to `each`. */
async function run(
  engine: Engine,
  from: number,
  to: number,
  each: (batch: Batch, end: number) => Promise<void>,
) {
  for (let start = from; start < to; start += BATCH) {
    const end = Math.min(to, start + BATCH)
    for (const line of LINES.slice(start, end)) {
      const parsed = parseEvent(line)
      if (parsed.ok) engine.process(parsed.event)
    }
    await each(engine.flush(1_764_590_000_000 + start), end)
  }
}

const columnType = async (table: string, column: string) => {
  const [row] = await sql<{ type: string }[]>`
    SELECT atttypid::regtype::text AS type FROM pg_attribute
    WHERE attrelid = ${`analytics.${table}`}::regclass AND attname = ${column}`
  return row?.type
}

describe('migrations 6, 7 and 8: item states and day closes as json, the closes in the daily history', () => {
  test('states, days and closes stored at version 5 are kept, and consume resumes from them', async () => {
    const store = new PostgresStore(sql, 'group')
    const commit = async (batch: Batch, end: number, committed: number | null) =>
      store.commitBatch(
        { topic: 'events', partition: 0, expectedOffset: committed, nextOffset: end },
        batch,
        [],
      )
    /** As version 5 stored a batch's days and closes (the store writes today's columns). */
    const daysAtVersion5 = async (batch: Batch) => {
      await addDailyBefore8(sql, batch.daily)
      if (batch.closes.length > 0)
        await sql`
          INSERT INTO analytics.daily_close
          SELECT * FROM json_populate_recordset(null::analytics.daily_close, ${JSON.stringify(batch.closes.map(closeRecordBefore7))}::text::json)
          ON CONFLICT (sku, warehouse_id, date) DO UPDATE SET
            on_hand = excluded.on_hand, first_date = excluded.first_date, lead_time_days = excluded.lead_time_days,
            sales_dates = excluded.sales_dates, sales_units = excluded.sales_units, model = excluded.model`
    }
    const half = LINES.length / 2
    let committed: number | null = null
    await run(new Engine(core, { trackDaily: true }), 0, half, async (batch, end) => {
      await commit({ ...batch, daily: [], closes: [] }, end, committed)
      await daysAtVersion5(batch)
      committed = end
    })
    expect(await columnType('item_state', 'state')).toBe('jsonb')
    const states = () =>
      sql`SELECT sku, warehouse_id, state FROM analytics.item_state ORDER BY sku, warehouse_id`
    const closes = () => sql`SELECT * FROM analytics.daily_close ORDER BY sku, warehouse_id, date`
    const DAY_COLUMNS = sql`sku, warehouse_id, date, sold, returned, received, adjusted, closing_on_hand, stockout`
    const days = () =>
      sql`SELECT ${DAY_COLUMNS} FROM analytics.daily_inventory ORDER BY sku, warehouse_id, date`
    // Units with no short decimal form (the generated ones are whole): kept exactly. A close with no
    // day row (no release wrote one) gets a row that says nothing happened that day.
    await sql`INSERT INTO analytics.daily_close
      (sku, warehouse_id, date, on_hand, first_date, sales_dates, sales_units)
      VALUES ('SKU-FRACTION', 'W1', '2026-01-05', 2.5, '2026-01-01', '{2026-01-01,2026-01-03}', ${`{0.1,${1 / 3}}`})`
    const statesBefore = await states()
    const closesBefore = await closes()
    const daysBefore = await days()
    expect(statesBefore.length).toBeGreaterThan(0)
    expect(closesBefore.length).toBeGreaterThan(statesBefore.length)

    expect(await migrate(sql)).toEqual([6, 7, 8, 9, 10, 11])
    expect(await columnType('item_state', 'state')).toBe('json')
    expect(await columnType('daily_inventory', 'model')).toBe('json')
    expect(await columnType('daily_inventory', 'sales')).toBe('json')
    expect([...(await sql`SELECT to_regclass('analytics.daily_close') AS t`)]).toEqual([{ t: null }])
    expect([...(await states())]).toEqual([...statesBefore])
    expect([...(await storedCloses(sql))]).toEqual(closesBefore.map(salesAsPairs))
    const fractionDay = {
      sku: 'SKU-FRACTION',
      warehouse_id: 'W1',
      date: new Date('2026-01-05T00:00:00Z'),
      sold: 0,
      returned: 0,
      received: 0,
      adjusted: 0,
      closing_on_hand: 2.5,
      stockout: false,
    }
    expect([...(await days())]).toEqual(
      [...daysBefore, fractionDay].sort((a, b) => (a.sku as string).localeCompare(b.sku as string)),
    )
    const [fraction] = await sql`SELECT sales FROM analytics.daily_inventory WHERE sku = 'SKU-FRACTION'`
    expect(fraction?.sales).toEqual([20454, 0.1, 20456, 1 / 3]) // 2026-01-01 is day 20,454 since 1970-01-01

    // The new release resumes from the converted states...
    const saved = await store.loadPartition('events', 0)
    expect(saved.nextOffset).toBe(half)
    const resumed = new Engine(core, { trackDaily: true })
    resumed.restore(saved.states)
    await run(resumed, half, LINES.length, async (batch, end) => {
      await commit(batch, end, committed)
      committed = end
    })
    // ...to the states of an engine that never stopped.
    const latest = new Map<string, ItemSnapshot>()
    await run(new Engine(core, { trackDaily: true }), 0, LINES.length, async (batch) => {
      for (const state of batch.states) latest.set(state.key, snapshotOf(state))
    })
    const stored = (await store.loadPartition('events', 0)).states
    expect(Object.fromEntries(stored.map((state) => [state.key, snapshotOf(state)]))).toEqual(
      Object.fromEntries(latest),
    )
  })
})
