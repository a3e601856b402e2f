// Migration 4 (the Parquet outbox holds packed entries, one per commit) against the real PostgreSQL:
// an installation at schema version 3 with rows waiting in the outbox as JSON upgrades without
// losing any, and a drain then writes the old rows and the new packed ones, each exactly once.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet'
import type { Sql } from 'postgres'
import { DEFAULT_CORE_CONFIG as core } from '../src/core/config.ts'
import { Engine } from '../src/core/engine.ts'
import { parseEvent } from '../src/core/event.ts'
import { metricsRecord } from '../src/core/rows.ts'
import { MIGRATIONS, migrate } from '../src/postgres/migrations.ts'
import { ParquetOutbox } from '../src/sinks/parquet-outbox.ts'
import { PostgresStore } from '../src/sinks/postgres.ts'
import { PARQUET_DECOMPRESSORS } from '../src/sources/files.ts'
import { generatedLines } from './support/events.ts'
import { Scenarios } from './support/stack.ts'

const scenarios = new Scenarios()
let sql: Sql
beforeAll(async () => {
  ;({ sql } = await scenarios.migrated('migration-4', MIGRATIONS.slice(0, 3)))
})
afterAll(() => scenarios.cleanup())

/** Batches of 50 events of a generated stream, as the engine flushes them. */
function batches() {
  const engine = new Engine(core, { trackDaily: true })
  const lines = generatedLines({ events: 600, skus: 4, warehouses: 2, days: 20, seed: 4 })
  const result = []
  for (let start = 0; start < lines.length; start += 50) {
    for (const line of lines.slice(start, start + 50)) {
      const parsed = parseEvent(line)
      if (parsed.ok) engine.process(parsed.event)
    }
    result.push({ batch: engine.flush(1_764_590_000_000 + start), nextOffset: start + 50 })
  }
  return result
}

describe('migration 4: packed Parquet outbox entries', () => {
  test('JSON rows waiting at version 3 are kept, and drained with the packed ones, each row once', async () => {
    const all = batches()
    const old = all.slice(0, 6)
    const records = old.flatMap(({ batch }) => batch.rows.map(metricsRecord))
    // As version 3 committed them: one JSON row each.
    await sql`INSERT INTO analytics.metrics_outbox (row)
      SELECT value FROM jsonb_array_elements(${JSON.stringify(records)}::text::jsonb)`
    const [before] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM analytics.metrics_outbox`
    expect(before?.n).toBe(records.length)

    expect(await migrate(sql)).toEqual([4, 5, 6, 7, 8, 9, 10, 11])
    const kept = await sql<{ row: unknown; row_count: number; packed: Uint8Array | null }[]>`
      SELECT row, row_count, packed FROM analytics.metrics_outbox ORDER BY id`
    expect(kept.map((r) => r.row)).toEqual(records)
    expect(kept.every((r) => r.row_count === 1 && r.packed === null)).toBe(true)

    // The new release commits the rest, packed entries of at most 5 rows.
    const store = new PostgresStore(sql, 'group', 5)
    let committed: number | null = null
    for (const { batch, nextOffset } of all.slice(6)) {
      await store.commitBatch(
        { topic: 'events', partition: 0, expectedOffset: committed, nextOffset },
        batch,
        [],
      )
      committed = nextOffset
    }
    const [entries] = await sql<{ packed: number; rows: number }[]>`
      SELECT count(*) FILTER (WHERE packed IS NOT NULL)::int AS packed, sum(row_count)::int AS rows
      FROM analytics.metrics_outbox`
    const newRows = all.slice(6).flatMap(({ batch }) => batch.rows)
    expect(entries?.packed).toBeGreaterThan(all.length - 6)
    expect(entries?.rows).toBe(records.length + newRows.length)

    const dataDir = join(scenarios.scratchDir, 'files')
    const outbox = new ParquetOutbox(sql, { dataDir, rowsPerFile: 100, maxWaitMs: 60_000, instance: 'test' })
    const files = await outbox.drain(Date.now(), true)
    outbox.close()
    expect(files.length).toBe(readdirSync(dataDir).length)
    const [left] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM analytics.metrics_outbox`
    expect(left?.n).toBe(0)
    const read: Record<string, unknown>[] = []
    for (const file of files) {
      const rows = await parquetReadObjects({
        file: await asyncBufferFromFile(file),
        compressors: PARQUET_DECOMPRESSORS,
      })
      // No file holds more than PARQUET_ROWS_PER_FILE rows.
      expect(rows.length).toBeLessThanOrEqual(100)
      read.push(...rows)
    }
    const key = (sku: unknown, warehouse: unknown, count: unknown) => `${sku}:${warehouse}:${Number(count)}`
    const expected = [
      ...records.map((r) => key(r.sku, r.warehouse_id, r.event_count)),
      ...newRows.map((r) => key(r.sku, r.warehouseId, r.eventCount)),
    ].sort()
    expect(read.map((r) => key(r.sku, r.warehouse_id, r.event_count)).sort()).toEqual(expected)
    // The values themselves come back from both forms.
    const byKey = new Map(read.map((r) => [key(r.sku, r.warehouse_id, r.event_count), r]))
    for (const row of newRows) {
      const file = byKey.get(key(row.sku, row.warehouseId, row.eventCount))
      expect(file?.velocity_30d).toBe(row.velocity30d)
      expect(file?.stockout_risk ?? null).toBe(row.stockoutRisk)
    }
    for (const record of records) {
      const file = byKey.get(key(record.sku, record.warehouse_id, record.event_count))
      expect(file?.velocity_7d).toBe(record.velocity_7d)
    }
  })
})
