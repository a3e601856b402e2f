import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet'
import { DEFAULT_CORE_CONFIG } from '../src/core/config.ts'
import { replay } from '../src/replay.ts'
import { removeStaleTemporaryFiles } from '../src/sinks/parquet.ts'
import { openInputs } from '../src/sources/files.ts'

// Bun's 5 s default is too short for a test that spawns processes on 2 loaded cores.
setDefaultTimeout(60_000)

const dir = mkdtempSync(join(tmpdir(), 'invpipe-parquet-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const line = (id: string, type: string, sku: string, quantity: number, timestamp: string, extra = {}) =>
  JSON.stringify({ event_id: id, event_type: type, sku, warehouse_id: 'W1', quantity, timestamp, ...extra })

// Two items; A gets a stock count, B never does (so its on-hand, risk, cover and reorder stay null).
const events = [
  line('1', 'stock_count', 'A', 10, '2026-01-01T08:00:00Z'),
  line('2', 'sale', 'A', 4, '2026-01-01T09:00:00Z'),
  line('3', 'sale', 'B', 1, '2026-01-01T10:00:00Z'),
  line('4', 'sale', 'A', 2, '2026-01-02T09:00:00+02:00'),
]
const eventsPath = join(dir, 'events.jsonl')
writeFileSync(eventsPath, `${events.join('\n')}\n`)
const computedAt = Date.UTC(2026, 10, 25, 12)

async function runReplay(batchSize: number, dataDir: string) {
  return replay({
    inputs: openInputs([eventsPath]),
    core: DEFAULT_CORE_CONFIG,
    batchSize,
    dataDir,
    now: () => computedAt,
  })
}

describe('processed-metrics Parquet (SPEC §7)', async () => {
  const dataDir = join(dir, 'data')
  // Batch size 2: batch 1 emits A, batch 2 emits B and A again: 3 rows.
  const summary = await runReplay(2, dataDir)

  test('files appear under their final name only, one per run here', () => {
    const names = readdirSync(dataDir)
    expect(names).toHaveLength(1)
    expect(names[0]).toMatch(/^processed_metrics_\d{8}T\d{9}Z_0001\.parquet$/)
    expect(summary.rowsWritten).toBe(3)
  })

  test('hyparquet reads back every row with the logical types of SPEC §7', async () => {
    const file = await asyncBufferFromFile(summary.files[0] as string)
    const metadata = await parquetMetadataAsync(file)
    const types = Object.fromEntries(
      metadata.schema.slice(1).map((e) => [e.name, [e.type, e.logical_type?.type ?? null]]),
    )
    expect(types).toMatchObject({
      sku: ['BYTE_ARRAY', 'STRING'],
      as_of_date: ['INT32', 'DATE'],
      last_event_at: ['INT64', 'TIMESTAMP'],
      event_count: ['INT64', null],
      on_hand: ['DOUBLE', null],
      reorder_quantity: ['DOUBLE', null],
      risk_level: ['BYTE_ARRAY', 'STRING'],
      computed_at: ['INT64', 'TIMESTAMP'],
    })
    const rows = await parquetReadObjects({ file })
    expect(rows.map((r) => [r.sku, r.event_count])).toEqual([
      ['A', 2n],
      ['B', 1n],
      ['A', 3n],
    ])
    const last = rows[2] as Record<string, unknown>
    // A: D = 2026-01-02 (09:00+02:00 is 07:00Z), sales 4 then 2 → velocity 3, on-hand 10 − 4 − 2 = 4.
    expect(last.as_of_date).toEqual(new Date(Date.UTC(2026, 0, 2)))
    expect(last.last_event_at).toEqual(new Date(Date.UTC(2026, 0, 2, 7)))
    expect(last.computed_at).toEqual(new Date(computedAt))
    expect(last.velocity_7d).toBe(3)
    expect(last.on_hand).toBe(4)
    expect((rows[1] as Record<string, unknown>).on_hand).toBeNull()
    expect((rows[1] as Record<string, unknown>).risk_level).toBe('unknown')
  })

  test('DuckDB, an independent reader, sees the same rows and types', async () => {
    const db = await DuckDBInstance.create(':memory:')
    const connection = await db.connect()
    const source = `read_parquet('${join(dataDir, '*.parquet')}')`
    const described = (await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`)).getRowObjectsJson()
    const types = Object.fromEntries(described.map((r) => [r.column_name, r.column_type]))
    expect(types).toMatchObject({
      sku: 'VARCHAR',
      as_of_date: 'DATE',
      last_event_at: 'TIMESTAMP WITH TIME ZONE',
      event_count: 'BIGINT',
      days_of_history: 'BIGINT',
      stockout_risk: 'DOUBLE',
      computed_at: 'TIMESTAMP WITH TIME ZONE',
    })
    const rows = (
      await connection.runAndReadAll(
        `SELECT sku, strftime(as_of_date, '%Y-%m-%d') AS d, epoch_ms(last_event_at) AS t, on_hand, velocity_7d, risk_level FROM ${source} ORDER BY sku, event_count`,
      )
    ).getRowObjectsJson()
    // A on day 1: one day of sales, σ = 0 and μ(7) = 28 ≥ 6 on hand, so risk 1: critical.
    expect(rows).toEqual([
      {
        sku: 'A',
        d: '2026-01-01',
        t: String(Date.UTC(2026, 0, 1, 9)),
        on_hand: 6,
        velocity_7d: 4,
        risk_level: 'critical',
      },
      // Sales 4, 2: slope −2 pulls μ(7) = max(0, 21 − 56) to 0; σ = √2, risk = 1 − Φ(4 / (√2·√7)) = 0.142: low.
      {
        sku: 'A',
        d: '2026-01-02',
        t: String(Date.UTC(2026, 0, 2, 7)),
        on_hand: 4,
        velocity_7d: 3,
        risk_level: 'low',
      },
      {
        sku: 'B',
        d: '2026-01-01',
        t: String(Date.UTC(2026, 0, 1, 10)),
        on_hand: null,
        velocity_7d: 1,
        risk_level: 'unknown',
      },
    ])
    connection.closeSync()
  })

  test('the last row of each item does not depend on the batch size', async () => {
    const db = await DuckDBInstance.create(':memory:')
    const connection = await db.connect()
    const latest = async (dataDirectory: string) =>
      (
        await connection.runAndReadAll(
          `SELECT * EXCLUDE (computed_at) FROM read_parquet('${dataDirectory}/*.parquet') QUALIFY row_number() OVER (PARTITION BY sku, warehouse_id ORDER BY event_count DESC) = 1 ORDER BY sku`,
        )
      ).getRowObjectsJson()
    const one = join(dir, 'batch1')
    const all = join(dir, 'batch100')
    await runReplay(1, one)
    await runReplay(100, all)
    expect(await latest(one)).toEqual(await latest(all))
    expect(await latest(one)).toEqual(await latest(dataDir))
    connection.closeSync()
  })
})

describe('temporary files of crashed writers', () => {
  test('old ones are removed, recent ones (a live writer) and finished files are kept', () => {
    const tmpDir = join(dir, 'stale')
    mkdirSync(tmpDir)
    const old = join(tmpDir, '.processed_metrics_20260101T000000000Z_x_1.parquet.123.abcd.tmp')
    const recent = join(tmpDir, '.processed_metrics_20260101T000000000Z_x_2.parquet.456.efgh.tmp')
    const done = join(tmpDir, 'processed_metrics_20260101T000000000Z_x_3.parquet')
    for (const path of [old, recent, done]) writeFileSync(path, 'x')
    const now = Date.now()
    utimesSync(old, new Date(now - 3_600_000), new Date(now - 3_600_000))
    utimesSync(done, new Date(now - 3_600_000), new Date(now - 3_600_000))
    expect(removeStaleTemporaryFiles(tmpDir, 600_000, now)).toEqual([old])
    expect(readdirSync(tmpDir).sort()).toEqual([basename(recent), basename(done)].sort())
  })
})
