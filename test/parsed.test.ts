import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { parseRecord } from '../src/core/intake.ts'
import { openInputs } from '../src/sources/files.ts'
import { packChunk, readParsed, unpackChunk } from '../src/sources/parsed.ts'

const dir = mkdtempSync(join(tmpdir(), 'invpipe-parsed-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const event = (fields: Record<string, unknown>) =>
  JSON.stringify({
    event_id: 'e1',
    event_type: 'sale',
    sku: 'SKU-1',
    warehouse_id: 'WH-1',
    quantity: 2,
    timestamp: '2026-01-05T10:00:00Z',
    ...fields,
  })

// Every field an event can carry, each null and not, and lines of every kind of rejection and blank.
const LINES = [
  event({}),
  '',
  event({ event_id: 'ünïcode 😀 "quoted" \\ back', quantity: 0.5, on_hand: 12, lead_time_days: 3.5 }),
  '   ',
  event({ event_type: 'purchase_order', order_id: 'PO-1', expected_at: '2026-01-09T00:00:00+02:00' }),
  event({ event_type: 'purchase_order', order_id: 'PO-2', quantity: 1e12 }),
  event({ event_type: 'restock', order_id: 'PO-1', quantity: 7 }),
  event({ event_type: 'restock', quantity: 7 }),
  event({ event_type: 'stock_count', quantity: 0, on_hand: null, timestamp: 1767607200000 }),
  event({ event_type: 'adjustment', quantity: -3 }),
  '{"broken": ',
  event({ sku: 'no spaces allowed' }),
  event({ quantity: -1 }),
  '[1, 2]',
  event({ event_type: 'return', quantity: 1 }),
]

/** A Parquet event file of `events` generated events, written by `invpipe generate`. */
function generatedParquet(name: string, events: number): string {
  const path = join(dir, name)
  const generated = Bun.spawnSync(
    [
      'bun',
      join(import.meta.dir, '../src/main.ts'),
      'generate',
      '--events',
      String(events),
      '--output',
      path,
    ],
    { stderr: 'pipe' },
  )
  if (generated.exitCode !== 0) throw new Error(`generate failed: ${generated.stderr.toString()}`)
  return path
}

/** Every record of a file: its number, parse result and the record as read. */
async function collect(path: string, workerFromBytes: number) {
  const [input] = openInputs([path])
  const seen: { line: number; result: unknown; record: unknown }[] = []
  for await (const chunk of readParsed(input as never, { records: true, workerFromBytes }))
    chunk.results.forEach((result, i) => {
      seen.push({ line: chunk.first + i, result, record: chunk.record(i) })
    })
  return seen
}

describe('parsed chunks from the worker (SPEC §2 results, unchanged by the trip)', () => {
  test('packed, cloned as a message would be, and unpacked: each line gives what parsing it here gives', () => {
    const chunk41 = { source: 'f.jsonl', first: 41, kind: 'text' as const, records: LINES }
    const packed = structuredClone(packChunk(chunk41, 'jsonl', 1234, true))
    const chunk = unpackChunk(packed)
    expect(chunk.source).toBe('f.jsonl')
    expect(chunk.first).toBe(41)
    expect(chunk.results).toEqual(LINES.map(parseRecord))
    expect(LINES.map((_, i) => chunk.record(i))).toEqual(LINES)
    expect(packed.bytes).toBe(1234)
    // Without the records the lines stay on the worker: the same results, and no record to give.
    const bare = unpackChunk(structuredClone(packChunk(chunk41, 'jsonl', 1234, false)))
    expect(bare.results).toEqual(chunk.results)
    expect(() => bare.record(0)).toThrow('records were not asked for')
  })

  test('a whole file through the worker: the same results, line numbers and records as read here', async () => {
    // More lines than one worker chunk (4,096), no newline after the last.
    const lines = Array.from({ length: 10_000 }, (_, i) => LINES[i % LINES.length] as string)
    const path = join(dir, 'events.jsonl')
    writeFileSync(path, lines.join('\n'))
    const here = await collect(path, Number.POSITIVE_INFINITY)
    const onWorker = await collect(path, 0)
    expect(here.length).toBe(10_000)
    expect(here.map((s) => s.line)).toEqual(lines.map((_, i) => i + 1))
    expect(onWorker).toEqual(here)
  })

  test('a Parquet file through the worker: the same results, row numbers and rows as read here', async () => {
    const path = generatedParquet('events.parquet', 9000)
    const here = await collect(path, Number.POSITIVE_INFINITY)
    const onWorker = await collect(path, 0)
    expect(here.length).toBe(9000)
    expect(typeof here[0]?.record).toBe('object')
    expect(onWorker).toEqual(here)
  })

  test('a reader slower than the worker gets every chunk, in order, though the worker waits for it', async () => {
    // Twelve chunks of 4,096 lines: three times what the worker may send ahead (CHUNKS_AHEAD).
    const lines = Array.from({ length: 12 * 4096 }, (_, i) => event({ event_id: `e${i}` }))
    const path = join(dir, 'many.jsonl')
    writeFileSync(path, `${lines.join('\n')}\n`)
    const [input] = openInputs([path])
    const ids: string[] = []
    let next = 1
    for await (const chunk of readParsed(input as never, { workerFromBytes: 0 })) {
      expect(chunk.first).toBe(next)
      next += chunk.results.length
      for (const result of chunk.results) if (result?.ok) ids.push(result.event.eventId)
      await Bun.sleep(5)
    }
    expect(ids).toEqual(lines.map((_, i) => `e${i}`))
  })

  test('Parquet rows with lists of INT64 and timestamps: JSON-ready records on both paths', async () => {
    const path = join(dir, 'nested.parquet')
    const db = await (await DuckDBInstance.create(':memory:')).connect()
    // Every third row a sale of -1 units: rejected, so its record goes to a rejects file as JSON.
    await db.run(`COPY (SELECT 'e' || i AS event_id, 'sale' AS event_type, 'SKU-' || (i % 50) AS sku,
      'WH-1' AS warehouse_id, CASE WHEN i % 3 = 0 THEN -1 ELSE 1 END AS quantity,
      (1767607200000 + i * 1000)::BIGINT AS timestamp, [i::BIGINT, 2::BIGINT] AS tags,
      {'at': TIMESTAMPTZ '2026-01-05 00:00:00+00', 'n': i::BIGINT} AS extra
      FROM range(6000) t(i)) TO '${path}' (FORMAT parquet)`)
    const here = await collect(path, Number.POSITIVE_INFINITY)
    const onWorker = await collect(path, 0)
    expect(here.length).toBe(6000)
    expect(onWorker).toEqual(here)
    expect(here[0]?.record).toMatchObject({ tags: [0, 2], extra: { at: 1767571200000, n: 0 } })
    expect(here[0]?.result).toMatchObject({ ok: false })
    expect(() => JSON.stringify(here.map((s) => s.record))).not.toThrow()
  })

  test('the progress count reaches the file size on the worker too', async () => {
    const path = join(dir, 'progress.jsonl')
    writeFileSync(path, `${LINES.join('\n')}\n`)
    const [input] = openInputs([path])
    let bytes = 0
    const onBytes = (read: number) => {
      bytes += read
    }
    for await (const _ of readParsed(input as never, { onBytes, workerFromBytes: 0 }));
    expect(bytes).toBe(Bun.file(path).size)
  })

  test('a Parquet file whose pages do not decode: the same one line on both paths', async () => {
    const path = generatedParquet('corrupt.parquet', 3000)
    const bytes = readFileSync(path)
    bytes.fill(0x41, 100, Math.min(20_000, bytes.length - 4096)) // the pages, not the footer
    writeFileSync(path, bytes)
    const failureOf = (workerFromBytes: number) =>
      collect(path, workerFromBytes).then(
        () => null,
        (error: Error) => `${error.name}: ${error.message}`,
      )
    const here = await failureOf(Number.POSITIVE_INFINITY)
    expect(here).toStartWith(`SourceError: ${path}: not a readable Parquet file (`)
    expect(here).not.toContain('\n')
    expect(await failureOf(0)).toBe(here)
  })

  test('a file gone before the worker reads it: one line naming it and the cause', async () => {
    const input = { path: join(dir, 'gone.jsonl'), format: 'jsonl' as const, size: 10 << 20 }
    const failure = await (async () => {
      for await (const _ of readParsed(input));
    })().then(
      () => null,
      (error) => (error as Error).message,
    )
    expect(failure).toContain(`${input.path}: cannot read`)
    expect(failure).not.toContain('\n')
  })
})
