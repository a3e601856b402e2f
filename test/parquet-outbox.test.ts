// When consume's Parquet outbox writes a file, against the real PostgreSQL: once PARQUET_ROWS_PER_FILE
// rows wait (or the oldest has waited PARQUET_FLUSH_SECONDS), each file at most that many rows of
// whole entries (one entry per commit).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { asyncBufferFromFile, parquetMetadataAsync } from 'hyparquet'
import type { Sql } from 'postgres'
import { DEFAULT_CORE_CONFIG as core } from '../src/core/config.ts'
import { Engine } from '../src/core/engine.ts'
import { parseEvent } from '../src/core/event.ts'
import type { MetricsRow } from '../src/core/rows.ts'
import { packRows } from '../src/sinks/metrics-pack.ts'
import { ParquetOutbox } from '../src/sinks/parquet-outbox.ts'
import { generatedLines } from './support/events.ts'
import { Scenarios } from './support/stack.ts'

const scenarios = new Scenarios()
let sql: Sql
beforeAll(async () => {
  ;({ sql } = await scenarios.migrated('parquet-outbox'))
})
afterAll(() => scenarios.cleanup())

/** Rows as the engine makes them: one per changed item at the end of each batch of 10 events. */
function someRows(count: number): MetricsRow[] {
  const engine = new Engine(core)
  const rows: MetricsRow[] = []
  const lines = generatedLines({ events: 2_000, skus: 20, warehouses: 2, days: 30, seed: 3 })
  for (let i = 0; rows.length < count; i++) {
    const parsed = parseEvent(lines[i] as string)
    if (parsed.ok) engine.process(parsed.event)
    if (i % 10 === 9) rows.push(...engine.flush(0).rows)
  }
  return rows.slice(0, count)
}

const rowsOf = async (files: string[]) =>
  Promise.all(
    files.map(async (path) => Number((await parquetMetadataAsync(await asyncBufferFromFile(path))).num_rows)),
  )

describe('the Parquet outbox', () => {
  test('a file is written once PARQUET_ROWS_PER_FILE rows wait, though whole entries seldom add up to exactly that', async () => {
    const outbox = new ParquetOutbox(sql, {
      dataDir: scenarios.scratchDir,
      rowsPerFile: 100,
      maxWaitMs: 60_000,
      instance: 'test',
    })
    const rows = someRows(120)
    /** One commit's entry of 30 rows. */
    const commit = async (at: number) => {
      const entry = rows.slice(at, at + 30)
      await sql`INSERT INTO analytics.metrics_outbox (packed, row_count) VALUES (${packRows(entry)}, 30)`
      outbox.added(30)
    }
    try {
      const now = Date.now()
      for (const at of [0, 30, 60]) await commit(at)
      // Each drain is asked as a retry asks it, so that it looks at what waits in the outbox (the
      // count of this instance's rows since its last drain only spares a query).
      // 90 rows wait, fewer than a file holds, none of them for long: no file yet.
      expect(await outbox.drain(now, false, true)).toEqual([])
      // 120 wait: a file of the three oldest entries (a fourth would make it 120 rows), 30 left.
      await commit(90)
      expect(await rowsOf(await outbox.drain(now, false, true))).toEqual([90])
      // The end of a run writes what is left.
      expect(await rowsOf(await outbox.drain(now, true))).toEqual([30])
      expect(await outbox.waitingRows()).toBe(0)
    } finally {
      outbox.close()
    }
  })
})
