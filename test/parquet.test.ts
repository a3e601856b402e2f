import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet'
import { DEFAULT_CORE_CONFIG } from '../src/core/config.ts'
import { Engine } from '../src/core/engine.ts'
import { parseEvent } from '../src/core/event.ts'
import { type MetricsRow, metricsRecord, metricsRowFromRecord } from '../src/core/rows.ts'
import { replay } from '../src/replay.ts'
import { packRows } from '../src/sinks/metrics-pack.ts'
import {
  ParquetFileWriter,
  ParquetMetricsWriter,
  receivedGroup,
  removeStaleTemporaryFiles,
  sentGroup,
} from '../src/sinks/parquet.ts'
import { openInputs, PARQUET_DECOMPRESSORS, readInput } from '../src/sources/files.ts'
import { SPEC_COLUMNS } from './support/spec-columns.ts'

// Bun's 5 s default is too short for a test that spawns processes on 2 loaded cores.
setDefaultTimeout(60_000)

const dir = mkdtempSync(join(tmpdir(), 'invpipe-parquet-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const line = (id: string, type: string, sku: string, quantity: number, timestamp: string, extra = {}) =>
  JSON.stringify({ event_id: id, event_type: type, sku, warehouse_id: 'W1', quantity, timestamp, ...extra })

// Two items; A gets a stock count and a purchase order, B neither (so its on-hand, risk, cover,
// reorder quantity, inventory position and expected stockout date stay null).
const events = [
  line('1', 'stock_count', 'A', 10, '2026-01-01T08:00:00Z'),
  line('2', 'sale', 'A', 4, '2026-01-01T09:00:00Z'),
  line('3', 'sale', 'B', 1, '2026-01-01T10:00:00Z'),
  line('4', 'purchase_order', 'A', 20, '2026-01-01T11:00:00Z', {
    order_id: 'PO-1',
    expected_at: '2026-01-05T00:00:00Z',
  }),
  line('5', 'sale', 'A', 2, '2026-01-02T09:00:00+02:00'),
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

/** The rows the core emits for the same events and batches, as SPEC §7 records: what the files must hold. */
function coreRecords(batchSize: number) {
  const engine = new Engine(DEFAULT_CORE_CONFIG)
  const records: ReturnType<typeof metricsRecord>[] = []
  events.forEach((text, i) => {
    const parsed = parseEvent(text)
    if (parsed.ok) engine.process(parsed.event)
    if ((i + 1) % batchSize === 0 || i === events.length - 1)
      records.push(...engine.flush(computedAt).rows.map(metricsRecord))
  })
  return records
}

describe('processed-metrics Parquet (SPEC §7)', async () => {
  const dataDir = join(dir, 'data')
  // Batch size 2: batch 1 emits A, batch 2 emits B and A again, batch 3 A once more: 4 rows.
  const summary = await runReplay(2, dataDir)
  const expected = coreRecords(2)

  test('files appear under their final name only, one per run here', () => {
    const names = readdirSync(dataDir)
    expect(names).toHaveLength(1)
    expect(names[0]).toMatch(/^processed_metrics_\d{8}T\d{9}Z_0001\.parquet$/)
    expect(summary.rowsWritten).toBe(4)
  })

  test('hyparquet reads back every row with the logical types of SPEC §7, columns in its order', async () => {
    const file = await asyncBufferFromFile(summary.files[0] as string)
    const metadata = await parquetMetadataAsync(file)
    const columns = metadata.schema.slice(1)
    expect(columns.map((e) => e.name)).toEqual(SPEC_COLUMNS)
    const types = Object.fromEntries(
      columns.map((e) => [e.name, [e.type, e.logical_type?.type ?? null, e.repetition_type]]),
    )
    expect(types).toMatchObject({
      sku: ['BYTE_ARRAY', 'STRING', 'REQUIRED'],
      as_of_date: ['INT32', 'DATE', 'REQUIRED'],
      last_event_at: ['INT64', 'TIMESTAMP', 'REQUIRED'],
      event_count: ['INT64', null, 'REQUIRED'],
      on_hand: ['DOUBLE', null, 'OPTIONAL'],
      reorder_quantity: ['DOUBLE', null, 'OPTIONAL'],
      risk_level: ['BYTE_ARRAY', 'STRING', 'REQUIRED'],
      on_order: ['DOUBLE', null, 'REQUIRED'],
      inventory_position: ['DOUBLE', null, 'OPTIONAL'],
      expected_stockout_date: ['INT32', 'DATE', 'OPTIONAL'],
      computed_at: ['INT64', 'TIMESTAMP', 'REQUIRED'],
    })
    // ZSTD, natively compressed (README, "Benchmarks"): every column chunk.
    const codecs = metadata.row_groups.flatMap((group) => group.columns.map((c) => c.meta_data?.codec))
    expect(new Set(codecs)).toEqual(new Set(['ZSTD']))
    const rows = (await parquetReadObjects({ file, compressors: PARQUET_DECOMPRESSORS })) as Record<
      string,
      unknown
    >[]
    expect(rows.map((r) => [r.sku, r.event_count])).toEqual([
      ['A', 2n],
      ['B', 1n],
      ['A', 3n],
      ['A', 4n],
    ])
    const last = rows[3] as Record<string, unknown>
    // A: D = 2026-01-02 (09:00+02:00 is 07:00Z), sales 4 then 2 → velocity 3, on-hand 10 − 4 − 2 = 4;
    // PO-1's 20 units on order: inventory position 24.
    expect(last.as_of_date).toEqual(new Date(Date.UTC(2026, 0, 2)))
    expect(last.last_event_at).toEqual(new Date(Date.UTC(2026, 0, 2, 7)))
    expect(last.computed_at).toEqual(new Date(computedAt))
    expect(last.velocity_7d).toBe(3)
    expect(last.on_hand).toBe(4)
    expect(last.on_order).toBe(20)
    expect(last.inventory_position).toBe(24)
    // A DATE, read back as the day the core computed.
    expect(last.expected_stockout_date).toBeInstanceOf(Date)
    expect((last.expected_stockout_date as Date).toISOString().slice(0, 10)).toBe(
      expected[3]?.expected_stockout_date as string,
    )
    const b = rows[1] as Record<string, unknown>
    expect(b.on_hand).toBeNull()
    expect(b.risk_level).toBe('unknown')
    expect(b.on_order).toBe(0)
    expect(b.inventory_position).toBeNull()
    expect(b.expected_stockout_date).toBeNull()
    // Row 1 (A before its order): nothing on order, the position is the on-hand.
    expect([rows[0]?.on_order, rows[0]?.inventory_position]).toEqual([0, 6])
  })

  test('DuckDB, an independent reader, sees the same rows and types: every column the core emitted', async () => {
    const db = await DuckDBInstance.create(':memory:')
    const connection = await db.connect()
    const source = `read_parquet('${join(dataDir, '*.parquet')}')`
    const described = (await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`)).getRowObjectsJson()
    expect(described.map((r) => r.column_name)).toEqual(SPEC_COLUMNS)
    const types = Object.fromEntries(described.map((r) => [r.column_name, r.column_type]))
    expect(types).toMatchObject({
      sku: 'VARCHAR',
      as_of_date: 'DATE',
      last_event_at: 'TIMESTAMP WITH TIME ZONE',
      event_count: 'BIGINT',
      days_of_history: 'BIGINT',
      stockout_risk: 'DOUBLE',
      on_order: 'DOUBLE',
      inventory_position: 'DOUBLE',
      expected_stockout_date: 'DATE',
      computed_at: 'TIMESTAMP WITH TIME ZONE',
    })
    const rows = (
      await connection.runAndReadAll(
        `SELECT * REPLACE (strftime(as_of_date, '%Y-%m-%d') AS as_of_date,
           strftime(expected_stockout_date, '%Y-%m-%d') AS expected_stockout_date,
           epoch_ms(last_event_at) AS last_event_at, epoch_ms(computed_at) AS computed_at,
           event_count::INT AS event_count, days_of_history::INT AS days_of_history)
         FROM ${source}`,
      )
    ).getRowObjectsJson()
    const asRead = expected.map((record) => ({
      ...record,
      last_event_at: String(Date.parse(record.last_event_at)),
      computed_at: String(Date.parse(record.computed_at)),
    }))
    expect(rows).toEqual(asRead)
    // The hand-worked figures among them (A on day 1: 10 − 4 on hand; B: no stock known).
    expect(
      rows.map((r) => [r.sku, r.as_of_date, r.on_hand, r.velocity_7d, r.on_order, r.inventory_position]),
    ).toEqual([
      ['A', '2026-01-01', 6, 4, 0, 6],
      ['B', '2026-01-01', null, 1, 0, null],
      ['A', '2026-01-01', 6, 4, 20, 26],
      ['A', '2026-01-02', 4, 3, 20, 24],
    ])
    expect(rows[1]?.risk_level).toBe('unknown')
    expect(rows[1]?.expected_stockout_date).toBeNull()
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

describe('the Parquet worker: row groups, files and waiting', () => {
  test('2,500 rows in row groups of 300 and files of 1,000: every row once, in order, in three files', async () => {
    const outDir = join(dir, 'worker')
    // Rows with every kind of value, nulls included, that differ from row to row.
    const rows: MetricsRow[] = Array.from({ length: 2500 }, (_, i) => ({
      sku: `S${i % 37}`,
      warehouseId: `W${i % 3}`,
      asOfDay: 20_454 + (i % 90),
      lastEventAt: Date.UTC(2026, 0, 1) + i * 60_000,
      eventCount: i + 1,
      onHand: i % 5 === 0 ? null : i / 4,
      velocity7d: i / 7,
      velocity30d: i / 30,
      volatility: 0.5,
      trend: -i,
      seasonalityIndex: 1,
      daysOfHistory: i % 31,
      leadTimeDays: 7,
      expectedDemandLeadTime: i / 3,
      stockoutRisk: i % 5 === 0 ? null : (i % 100) / 100,
      riskLevel: i % 5 === 0 ? 'unknown' : 'low',
      daysOfCover: i % 7 === 0 ? null : i / 9,
      safetyStock: 2,
      reorderPoint: 9,
      reorderQuantity: i % 11 === 0 ? null : i % 4,
      onOrder: i % 2,
      inventoryPosition: i % 5 === 0 ? null : i / 4 + (i % 2),
      expectedStockoutDate: i % 3 === 0 ? null : 20_460 + (i % 40),
      computedAt: Date.UTC(2026, 10, 25) + i,
    }))
    const writer = new ParquetMetricsWriter({
      dataDir: outDir,
      stamp: 'T',
      rowGroupRows: 300,
      rowsPerFile: 1000,
    })
    // Uneven batches: groups end inside them, and more groups than may wait are sent at once.
    for (let i = 0; i < rows.length; i += 700) await writer.write(rows.slice(i, i + 700))
    const files = await writer.close()
    // A file is closed once it holds 1,000 rows or more, at the end of a row group: 1,200, 1,200, 100.
    expect(files.map((f) => basename(f))).toEqual([
      'processed_metrics_T_0001.parquet',
      'processed_metrics_T_0002.parquet',
      'processed_metrics_T_0003.parquet',
    ])
    expect(readdirSync(outDir).sort()).toEqual(files.map((f) => basename(f)).sort())
    const read: Record<string, unknown>[] = []
    for (const path of files) {
      const file = await asyncBufferFromFile(path)
      const metadata = await parquetMetadataAsync(file)
      expect(metadata.row_groups.every((group) => Number(group.num_rows) <= 300)).toBe(true)
      read.push(
        ...((await parquetReadObjects({ file, compressors: PARQUET_DECOMPRESSORS })) as Record<
          string,
          unknown
        >[]),
      )
    }
    expect(read).toHaveLength(rows.length)
    // What went in, as a reader sees it: dates and timestamps as Date, INT64 as bigint.
    const asRead = (row: MetricsRow) => {
      const record: Record<string, unknown> = { ...metricsRecord(row) }
      for (const key of ['as_of_date', 'expected_stockout_date', 'last_event_at', 'computed_at'])
        if (record[key] !== null)
          record[key] = new Date(`${record[key]}${key.endsWith('date') ? 'T00:00:00Z' : ''}`)
      record.event_count = BigInt(row.eventCount)
      record.days_of_history = BigInt(row.daysOfHistory)
      return record
    }
    expect(read).toEqual(rows.map(asRead))
  })
})

describe('a row group on its way to the worker', () => {
  test('string columns packed as one text and lengths come back value for value, numbers untouched', () => {
    const skus = ['A', '', 'Ω-7', '😀x', 'a'.repeat(64), 'WH:2']
    const numbers = new Float64Array([1.5, Number.NaN, -0, 2 ** 53 - 1, 1e-300, 7])
    const group = { rows: skus.length, columns: [skus.slice(), numbers, ['', '', '', 'low', 'high', '']] }
    const back = receivedGroup(structuredClone(sentGroup(group)))
    expect(back.rows).toBe(6)
    expect(back.columns[0]).toEqual(skus)
    expect([...(back.columns[1] as Float64Array)]).toEqual([...numbers])
    expect(back.columns[2]).toEqual(['', '', '', 'low', 'high', ''])
  })
})

describe("whole files on the worker (consume's outbox drain)", () => {
  test('a file that cannot be written fails alone: the files before and after it are whole', async () => {
    const out = mkdtempSync(join(tmpdir(), 'invpipe-file-writer-'))
    writeFileSync(join(out, 'not-a-dir'), 'x')
    const rows = coreRecords(2).map(metricsRowFromRecord)
    const writer = new ParquetFileWriter()
    try {
      // Two entries make one file, in order.
      await writer.write(join(out, 'a.parquet'), [packRows(rows.slice(0, 1)), packRows(rows.slice(1))])
      const failure = await writer.write(join(out, 'not-a-dir', 'b.parquet'), [packRows(rows)]).then(
        () => null,
        (error: Error) => error.message,
      )
      expect(failure).toMatch(/^(ENOTDIR|EEXIST): /)
      // A malformed outbox value (a layout of no known version) fails its file alone too.
      const refused = await writer.write(join(out, 'broken.parquet'), [new Uint8Array(12)]).then(
        () => null,
        (error: Error) => error.message,
      )
      expect(refused).toBe('packed metrics rows of unknown version 0')
      await writer.write(join(out, 'c.parquet'), [packRows(rows.slice(1))])
    } finally {
      writer.close()
    }
    const read = async (name: string) =>
      (await parquetReadObjects({
        file: await asyncBufferFromFile(join(out, name)),
        compressors: PARQUET_DECOMPRESSORS,
      })) as Record<string, unknown>[]
    expect((await read('a.parquet')).map((r) => r.sku)).toEqual(rows.map((r) => r.sku))
    expect((await read('c.parquet')).map((r) => r.sku)).toEqual(rows.slice(1).map((r) => r.sku))
    expect(readdirSync(out).sort()).toEqual(['a.parquet', 'c.parquet', 'not-a-dir'])
    rmSync(out, { recursive: true, force: true })
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

/** An 8 KiB tmpfs (root only; the test is skipped elsewhere): any write beyond it fails with ENOSPC. */
const smallDisk = mkdtempSync(join(tmpdir(), 'invpipe-small-disk-'))
const mounted = Bun.spawnSync(['mount', '-t', 'tmpfs', '-o', 'size=8k', 'tmpfs', smallDisk]).exitCode === 0
afterAll(() => {
  if (mounted) Bun.spawnSync(['umount', '-l', smallDisk])
  rmSync(smallDisk, { recursive: true, force: true })
})

describe.skipIf(!mounted)('a full disk under DATA_DIR', () => {
  test('replay stops with one line naming the directory and the cause; no partial file is left', async () => {
    // 5,000 items × 4 days, counts scattered: 20,000 rows, far more Parquet than the disk holds.
    const lines: string[] = []
    for (let day = 1; day <= 4; day++)
      for (let i = 0; i < 5000; i++) {
        const count = 10 + ((i * 7919 + day * 104_729) % 5000)
        lines.push(line(`${day}-${i}`, 'stock_count', `S${i}`, count, `2026-01-0${day}T08:00:00Z`))
      }
    const input = join(dir, 'many.jsonl')
    writeFileSync(input, `${lines.join('\n')}\n`)
    const dataDir = join(smallDisk, 'data')
    const run = Bun.spawnSync(
      [
        'bun',
        join(import.meta.dir, '../src/main.ts'),
        'replay',
        input,
        '--data-dir',
        dataDir,
        '--no-progress',
      ],
      { stdout: 'pipe', stderr: 'pipe' },
    )
    const stderr = run.stderr.toString().trim()
    expect(run.exitCode).toBe(1)
    expect(stderr).toBe(
      `invpipe: parquet: cannot write into ${dataDir}: ENOSPC: no space left on device, write`,
    )
    expect(readdirSync(dataDir)).toEqual([])
  })
})

describe('event files from other writers', () => {
  test.each(['zstd', 'gzip', 'snappy'])(
    'a %s-compressed Parquet file written by DuckDB is read row for row',
    async (codec) => {
      const dir = mkdtempSync(join(tmpdir(), 'invpipe-codec-'))
      const path = join(dir, `events-${codec}.parquet`)
      const db = await (await DuckDBInstance.create(':memory:')).connect()
      await db.run(
        `COPY (SELECT 'e-' || i AS event_id, 'sale' AS event_type, 'SKU-' || (i % 7) AS sku, 'WH-1' AS warehouse_id,
              i % 5 + 1 AS quantity, 1767225600000 + i * 60000 AS timestamp FROM range(3000) t(i))
       TO '${path}' (FORMAT parquet, COMPRESSION ${codec})`,
      )
      db.closeSync()
      const records: Record<string, unknown>[] = []
      for await (const chunk of readInput(openInputs([path])[0] as never))
        if (chunk.kind === 'object') records.push(...chunk.records)
      expect(records).toHaveLength(3000)
      expect(records[2999]).toEqual({
        event_id: 'e-2999',
        event_type: 'sale',
        sku: 'SKU-3',
        warehouse_id: 'WH-1',
        quantity: 5,
        timestamp: 1767225600000 + 2999 * 60000,
      })
      rmSync(dir, { recursive: true, force: true })
    },
  )
})
