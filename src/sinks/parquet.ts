// Processed-metrics rows to Parquet files in DATA_DIR (SPEC §7): typed columns, each file written
// under a temporary name, synced, and renamed into place, so no reader ever sees a partial file.

import { randomUUID } from 'node:crypto'
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs'
import { basename, dirname, join } from 'node:path'
import type { SchemaElement } from 'hyparquet'
import { fileWriter, ParquetWriter } from 'hyparquet-writer'
import { METRICS_COLUMNS, type MetricsColumn, type MetricsRow } from '../core/rows.ts'
import { crashPoint } from '../crash-points.ts'
import { ServiceError } from '../errors.ts'

function schemaElement({ name, kind, nullable }: MetricsColumn): SchemaElement {
  const repetition_type = nullable ? 'OPTIONAL' : 'REQUIRED'
  switch (kind) {
    case 'string':
      return {
        name,
        repetition_type,
        type: 'BYTE_ARRAY',
        converted_type: 'UTF8',
        logical_type: { type: 'STRING' },
      }
    case 'date':
      return { name, repetition_type, type: 'INT32', converted_type: 'DATE', logical_type: { type: 'DATE' } }
    case 'timestamp':
      return {
        name,
        repetition_type,
        type: 'INT64',
        converted_type: 'TIMESTAMP_MILLIS',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
      }
    case 'int64':
      return { name, repetition_type, type: 'INT64' }
    case 'double':
      return { name, repetition_type, type: 'DOUBLE' }
  }
}

const COLUMNS: readonly MetricsColumn[] = METRICS_COLUMNS

const SCHEMA: SchemaElement[] = [
  { name: 'root', num_children: METRICS_COLUMNS.length },
  ...COLUMNS.map(schemaElement),
]

/**
 * A row group as plain column data, cheap to build row by row and to hand to a worker without
 * copying: a Float64Array per numeric column (NaN where the value is null; every value here is a
 * whole number below 2⁵³ or a finite double) and an array per string column.
 */
export interface ColumnGroup {
  rows: number
  columns: (Float64Array | string[])[]
}

/**
 * Puts a row's values at `at` of each column: compiled from the column list into one function with
 * its own property read per column. A loop over the columns reads 24 different properties at one
 * place in the code, which the JIT can only do by a slow lookup (~300 ns a row; this a fraction).
 */
const ADD_ROW = new Function(
  'columns',
  'at',
  'row',
  COLUMNS.map((c, i) => {
    const read = `row[${JSON.stringify(c.field)}]`
    return `columns[${i}][at] = ${c.kind === 'string' ? read : `${read} ?? NaN`}`
  }).join('\n'),
) as (columns: (Float64Array | string[])[], at: number, row: MetricsRow) => void

/**
 * Rows in a row group of replay's files. Each group is copied a few times on its way through the
 * writer (columns, pages, compression) on the worker, with two groups in flight: 100,000 rows made
 * replay's peak memory ~530 MiB for 1M events, 25,000 ~360 MiB, at the same speed and 2 % larger
 * files. Readers (DuckDB, Spark, Arrow) are as happy with either.
 */
const ROW_GROUP_ROWS = 25_000

/** Fills a ColumnGroup one row at a time, up to a fixed number of rows. */
export class ColumnGroupBuilder {
  rows = 0
  private columns: (Float64Array | string[])[]

  constructor(readonly capacity: number) {
    this.columns = this.empty()
  }

  add(row: MetricsRow): void {
    ADD_ROW(this.columns, this.rows++, row)
  }

  get full(): boolean {
    return this.rows >= this.capacity
  }

  /** The rows added so far, as a group; the builder starts again empty. */
  take(): ColumnGroup {
    const rows = this.rows
    const columns = this.columns.map((data) => (Array.isArray(data) ? data : data.subarray(0, rows)))
    this.columns = this.empty()
    this.rows = 0
    return { rows, columns }
  }

  private empty(): (Float64Array | string[])[] {
    return COLUMNS.map((c) => (c.kind === 'string' ? [] : new Float64Array(this.capacity)))
  }
}

export function columnGroupOf(rows: readonly MetricsRow[]): ColumnGroup {
  const builder = new ColumnGroupBuilder(rows.length)
  for (const row of rows) builder.add(row)
  return builder.take()
}

/**
 * The hyparquet-writer columns of a group: typed arrays where no null can occur, plain arrays with
 * nulls otherwise (dates and timestamps go as numbers: the writer converts those itself). Min/max
 * statistics only for the columns readers filter on (item, dates): on the measures they cost a
 * third of the write time and prune nothing.
 */
function columnData(group: ColumnGroup) {
  return COLUMNS.map((c, i) => {
    const values = group.columns[i] as Float64Array | string[]
    let data: unknown = values
    if (c.nullable && c.kind !== 'string')
      data = Array.from(values as Float64Array, (v) => (Number.isNaN(v) ? null : v))
    else if (c.kind === 'int64') data = BigInt64Array.from(values as Float64Array, (v) => BigInt(v))
    return { name: c.name, data: data as never, statistics: c.kind !== 'double' && c.kind !== 'int64' }
  })
}

/**
 * ZSTD (Bun's native zstd, default level): the library's own Snappy, in JavaScript, took half of
 * the encoding time; zstd takes a twentieth and the files come out smaller. Every current Parquet
 * reader (DuckDB, Arrow, Spark, Polars, hyparquet with PARQUET_DECOMPRESSORS) reads it.
 */
const CODEC = {
  codec: 'ZSTD',
  compressors: { ZSTD: (bytes: Uint8Array) => Bun.zstdCompressSync(bytes) },
} as const

export interface ParquetFileOptions {
  dataDir: string
  /** Distinguishes the files of one run or instance: processed_metrics_{stamp}_{suffix}.parquet */
  stamp: string
  rowGroupRows?: number
  /** A file is closed and renamed into place once it holds this many rows. */
  rowsPerFile?: number
  /** Key-value metadata of every file (e.g. the run id and the settings that shaped the rows). */
  metadata?: Record<string, string>
}

/** Formats a wall-clock time as the `{timestamp}` of a file name: 20261125T150800123Z. */
export function fileStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:.]/g, '')
}

/**
 * One Parquet file being written: rows go in as row groups under a hidden temporary name; finish()
 * syncs it and renames it into place, so readers see the whole file or none of it.
 */
export class MetricsFile {
  rows = 0
  private readonly tmpPath: string
  private readonly writer: ParquetWriter

  constructor(
    readonly path: string,
    metadata: Record<string, string> = {},
  ) {
    const dir = dirname(path)
    mkdirSync(dir, { recursive: true })
    // Unique, so two instances recovering the same outbox claim never write into one file.
    this.tmpPath = join(dir, `.${basename(path)}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`)
    this.writer = new ParquetWriter({
      writer: fileWriter(this.tmpPath),
      schema: SCHEMA,
      createdBy: 'invpipe',
      ...CODEC,
      kvMetadata: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    })
  }

  writeRowGroup(rows: readonly MetricsRow[]): void {
    this.writeGroup(columnGroupOf(rows))
  }

  writeGroup(group: ColumnGroup): void {
    if (group.rows === 0) return
    try {
      this.writer.write({ columnData: columnData(group), rowGroupSize: group.rows })
    } catch (error) {
      // A full disk, say: no half-written temporary file is left behind.
      this.abort()
      throw error
    }
    this.rows += group.rows
  }

  /** Gives the file up: its temporary file is deleted, nothing is renamed into place. */
  abort(): void {
    rmSync(this.tmpPath, { force: true })
  }

  finish(): void {
    try {
      this.writer.finish()
      syncPath(this.tmpPath)
      crashPoint('parquet-written')
      renameSync(this.tmpPath, this.path)
      syncPath(dirname(this.path))
    } catch (error) {
      rmSync(this.tmpPath, { force: true })
      throw error
    }
  }
}

/** Row groups into a sequence of Parquet files, each closed once it holds rowsPerFile rows. */
export class MetricsFileSequence {
  readonly files: string[] = []
  private readonly rowsPerFile: number
  private current: MetricsFile | null = null

  constructor(private readonly options: ParquetFileOptions) {
    this.rowsPerFile = options.rowsPerFile ?? 1_000_000
    mkdirSync(options.dataDir, { recursive: true })
  }

  writeGroup(group: ColumnGroup): void {
    if (group.rows === 0) return
    const file = this.current ?? this.openFile()
    file.writeGroup(group)
    if (file.rows >= this.rowsPerFile) this.finishFile()
  }

  /** Closes the current file; the files written, in order. */
  close(): string[] {
    this.finishFile()
    return this.files
  }

  /** Gives up the file being written (its temporary file is deleted). */
  abort(): void {
    this.current?.abort()
    this.current = null
  }

  private openFile(): MetricsFile {
    const name = metricsFileName(this.options.stamp, String(this.files.length + 1).padStart(4, '0'))
    this.current = new MetricsFile(join(this.options.dataDir, name), this.options.metadata)
    return this.current
  }

  private finishFile(): void {
    const file = this.current
    if (file === null) return
    this.current = null
    file.finish()
    this.files.push(file.path)
  }
}

/**
 * What the Parquet worker (parquet-worker.ts) is told, and what it answers: a sequence of files
 * fed group by group (open, group…, close), or one whole file at a time (file).
 */
export type ToParquetWorker =
  | { open: ParquetFileOptions }
  | { group: SentGroup }
  | { close: true }
  | { file: { path: string; packed: Uint8Array[] } }
export type FromParquetWorker =
  | { written: number }
  | { closed: string[] }
  | { failed: string }
  | { file: string; failed: string | null }

function parquetWorker(): Worker {
  return new Worker(new URL('./parquet-worker.ts', import.meta.url))
}

/** Row groups a writer lets wait for the worker before it waits itself (memory stays bounded). */
const GROUPS_IN_FLIGHT = 2

/**
 * Rows into Parquet files on the second core: the rows are gathered into columns here, a row group
 * at a time, and a worker thread encodes and writes them (MetricsFileSequence) while the analytics
 * go on. The encoding costs about as much as the analytics themselves (README, "Benchmarks").
 */
export class ParquetMetricsWriter {
  /** Rows handed to the writer so far. */
  rowsWritten = 0
  private readonly builder: ColumnGroupBuilder
  private readonly worker: Worker
  private inFlight = 0
  private files: string[] | null = null
  private failure: Error | null = null
  /** The one waiting caller (writes and the close come one at a time), woken by any answer. */
  private wake: (() => void) | null = null

  private readonly dataDir: string

  constructor(options: ParquetFileOptions) {
    this.dataDir = options.dataDir
    this.builder = new ColumnGroupBuilder(options.rowGroupRows ?? ROW_GROUP_ROWS)
    this.worker = parquetWorker()
    this.worker.onmessage = (event: MessageEvent<FromParquetWorker>) => this.heard(event.data)
    this.worker.onerror = (event) => this.fail(new Error(`parquet worker: ${event.message}`))
    this.worker.postMessage({ open: options } satisfies ToParquetWorker)
  }

  /** Resolves once the rows are taken; waits while the worker is GROUPS_IN_FLIGHT groups behind. */
  async write(rows: readonly MetricsRow[]): Promise<void> {
    for (const row of rows) {
      this.builder.add(row)
      if (this.builder.full) await this.sendGroup()
    }
    this.rowsWritten += rows.length
  }

  /** Writes what is pending and closes the current file; the files written, in order. */
  async close(): Promise<string[]> {
    try {
      await this.sendGroup()
      this.worker.postMessage({ close: true } satisfies ToParquetWorker)
      await this.until(() => this.files !== null)
      return this.files ?? []
    } finally {
      this.worker.terminate()
    }
  }

  private async sendGroup(): Promise<void> {
    if (this.builder.rows > 0) {
      const sent = sentGroup(this.builder.take())
      this.inFlight++
      this.worker.postMessage({ group: sent } satisfies ToParquetWorker, transferables(sent))
    }
    await this.until(() => this.inFlight <= GROUPS_IN_FLIGHT)
  }

  /** Waits for the worker until `done`; throws what the worker failed with. */
  private async until(done: () => boolean): Promise<void> {
    while (this.failure === null && !done())
      await new Promise<void>((resolve) => {
        this.wake = resolve
      })
    if (this.failure !== null) throw this.failure
  }

  private heard(message: FromParquetWorker): void {
    if ('written' in message) this.inFlight--
    else if ('closed' in message) this.files = message.closed
    else if ('failed' in message && !('file' in message))
      this.failure ??= new ServiceError(`parquet: cannot write into ${this.dataDir}: ${message.failed}`)
    this.wake?.()
  }

  private fail(error: Error): void {
    this.failure ??= error
    this.wake?.()
  }
}

/**
 * Whole Parquet files, each written (and renamed into place) on a worker thread, in the order asked
 * (consume's outbox drain): the encoding of a file's rows runs on the second core instead of
 * holding up the batches. A file that cannot be written rejects with the worker's error message.
 * The worker lives until close().
 */
export class ParquetFileWriter {
  private readonly worker = parquetWorker()
  private readonly waiting: { resolve: () => void; reject: (error: Error) => void }[] = []
  /** Why the thread can no longer be used (it failed, or was closed): every later write fails with it. */
  private broken: Error | null = null

  constructor() {
    this.worker.onmessage = (event: MessageEvent<FromParquetWorker>) => this.answered(event.data)
    this.worker.onerror = (event) => this.failAll(new Error(`parquet worker: ${event.message}`))
  }

  /**
   * Writes the rows of `packed` (outbox values, metrics-pack.ts), in order, as the file at `path`.
   * Each value is copied into a buffer of its own, which is handed over: a driver's value may be a
   * view of a larger buffer, which posting would copy whole.
   */
  write(path: string, packed: readonly Uint8Array[]): Promise<void> {
    if (this.broken !== null) return Promise.reject(this.broken)
    const own = packed.map((value) => value.slice())
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject })
      this.worker.postMessage(
        { file: { path, packed: own } } satisfies ToParquetWorker,
        own.map((value) => value.buffer as ArrayBuffer),
      )
    })
  }

  close(): void {
    this.failAll(new Error('parquet worker closed'))
    this.worker.terminate()
  }

  private answered(message: FromParquetWorker): void {
    if (!('file' in message)) return
    const waiter = this.waiting.shift()
    if (message.failed === null) waiter?.resolve()
    else waiter?.reject(new Error(message.failed))
  }

  private failAll(error: Error): void {
    this.broken ??= error
    for (const waiter of this.waiting.splice(0)) waiter.reject(error)
  }
}

/**
 * A ColumnGroup as it crosses to the worker: each string column as one string and the lengths of
 * its values. Posting an array of strings clones every string one by one (~400 ns a row for the
 * three string columns); one long string is a single copy, and the lengths move with the numbers.
 */
export interface SentGroup {
  rows: number
  columns: (Float64Array | { text: string; lengths: Int32Array })[]
}

export function sentGroup(group: ColumnGroup): SentGroup {
  const columns = group.columns.map((data) =>
    Array.isArray(data) ? { text: data.join(''), lengths: Int32Array.from(data, (s) => s.length) } : data,
  )
  return { rows: group.rows, columns }
}

export function receivedGroup(sent: SentGroup): ColumnGroup {
  const columns = sent.columns.map((data) => {
    if (data instanceof Float64Array) return data
    const values = new Array<string>(data.lengths.length)
    let at = 0
    for (let i = 0; i < values.length; i++) {
      const length = data.lengths[i] as number
      values[i] = data.text.slice(at, at + length)
      at += length
    }
    return values
  })
  return { rows: sent.rows, columns }
}

function transferables(group: SentGroup): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>()
  for (const data of group.columns)
    buffers.add((data instanceof Float64Array ? data.buffer : data.lengths.buffer) as ArrayBuffer)
  return [...buffers]
}

/**
 * Deletes temporary files that a crashed writer left behind (they were never renamed, so no reader
 * ever saw them, and their rows are still in the outbox). Only old ones: a live writer may be busy.
 */
export function removeStaleTemporaryFiles(dataDir: string, olderThanMs: number, now: number): string[] {
  if (!existsSync(dataDir)) return []
  const removed: string[] = []
  for (const name of readdirSync(dataDir)) {
    if (!name.startsWith('.processed_metrics_') || !name.endsWith('.tmp')) continue
    const path = join(dataDir, name)
    if (now - statSync(path).mtimeMs >= olderThanMs) {
      rmSync(path, { force: true })
      removed.push(path)
    }
  }
  return removed
}

/** SPEC §7 file name: processed_metrics_{timestamp}_{suffix}.parquet */
export function metricsFileName(stamp: string, suffix: string): string {
  return `processed_metrics_${stamp}_${suffix}.parquet`
}

function syncPath(path: string): void {
  const fd = openSync(path, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
