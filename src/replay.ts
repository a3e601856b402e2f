// `invpipe replay`: event files → core → Parquet (and the alerts and rejects files).
// Batches are cut every BATCH_SIZE records, exactly as `consume` cuts them, so the two agree.
import { alertRecord } from './core/alerts.ts'
import type { CoreConfig } from './core/config.ts'
import { type Batch, Engine } from './core/engine.ts'
import { parseEvent, type Rejection, validateEvent } from './core/event.ts'
import type { MetricsRow } from './core/rows.ts'
import { Tally } from './core/tally.ts'
import { formatDay } from './core/time.ts'
import type { BatchSink } from './sinks/batch-sink.ts'
import { JsonLinesWriter } from './sinks/jsonl.ts'
import { fileStamp, ParquetMetricsWriter } from './sinks/parquet.ts'
import { type InputFile, readInput, type SourceChunk } from './sources/files.ts'

export interface ReplayOptions {
  inputs: InputFile[]
  core: CoreConfig
  batchSize: number
  dataDir: string
  alertsPath?: string | undefined
  rejectsPath?: string | undefined
  /** Stores fed with every batch besides the Parquet files (PostgreSQL, Redis, Kafka). */
  sinks?: BatchSink[]
  /** Wall clock for computed_at and generated_at; the core itself has none. */
  now?: () => number
  onBytes?: (bytes: number) => void
}

export interface ReplaySummary {
  tally: Tally
  items: number
  alerts: number
  rowsWritten: number
  files: string[]
  /** The final rows of highest risk, each with the sentence that explains it. */
  topAtRisk: (MetricsRow & { reason: string })[]
  seconds: number
  eventsPerSecond: number
}

const TOP_AT_RISK = 10

export async function replay(options: ReplayOptions): Promise<ReplaySummary> {
  const now = options.now ?? Date.now
  const started = performance.now()
  const sinks = options.sinks ?? []
  const engine = new Engine(options.core, { trackDaily: sinks.some((sink) => sink.needsDaily) })
  const tally = new Tally()
  const parquet = new ParquetMetricsWriter({ dataDir: options.dataDir, stamp: fileStamp(now()) })
  const alerts = options.alertsPath ? new JsonLinesWriter(options.alertsPath) : null
  const rejects = options.rejectsPath ? new JsonLinesWriter(options.rejectsPath) : null
  let alertCount = 0
  let inBatch = 0

  const endBatch = async () => {
    const batch: Batch = engine.flush(now())
    parquet.write(batch.rows)
    for (const sink of sinks) await sink.write(batch, now())
    alertCount += batch.alerts.length
    if (alerts !== null && batch.alerts.length > 0) {
      const generatedAt = now()
      for (const alert of batch.alerts) alerts.write(alertRecord(alert, generatedAt))
    }
    inBatch = 0
  }

  const reportRejection = (chunk: SourceChunk, index: number, rejection: Rejection) => {
    tally.countRejection(rejection.code)
    rejects?.write({
      source: chunk.source,
      line: chunk.first + index,
      ...rejection,
      record: chunk.records[index],
    })
  }

  for (const input of options.inputs) {
    for await (const chunk of readInput(input, options.onBytes)) {
      const records = chunk.records
      for (let i = 0; i < records.length; i++) {
        const record = records[i] as string | Record<string, unknown>
        if (typeof record === 'string' && isBlank(record)) continue
        const parsed = typeof record === 'string' ? parseEvent(record) : validateEvent(record)
        if (parsed.ok) {
          const outcome = engine.process(parsed.event)
          tally.countOutcome(outcome)
          if (outcome === 'duplicate') rejects?.write(duplicateReport(chunk, i))
        } else {
          reportRejection(chunk, i, parsed.rejection)
        }
        if (++inBatch >= options.batchSize) await endBatch()
      }
    }
  }
  if (inBatch > 0) await endBatch()
  const files = parquet.close()
  await alerts?.close()
  await rejects?.close()
  const seconds = (performance.now() - started) / 1000
  return {
    tally,
    items: engine.itemCount,
    alerts: alertCount,
    rowsWritten: parquet.rowsWritten,
    files,
    topAtRisk: mostAtRisk(engine.currentRows(now()), TOP_AT_RISK).map((row) => ({
      ...row,
      reason: engine.reasonOf(row.sku, row.warehouseId),
    })),
    seconds,
    eventsPerSecond: seconds > 0 ? tally.read / seconds : 0,
  }
}

/** A duplicate is not a rejection, but the engineer looking for a missing event wants to see it. */
function duplicateReport(chunk: SourceChunk, index: number) {
  return {
    source: chunk.source,
    line: chunk.first + index,
    code: 'duplicate',
    message: 'same event_id as an earlier event of this item inside the deduplication window; ignored',
    record: chunk.records[index],
  }
}

function isBlank(line: string): boolean {
  // Most lines start with '{'; only look closer at the others.
  return line.charCodeAt(0) !== 123 && line.trim() === ''
}

/** The n rows of highest stockout risk; ties go to the fewer days of cover, then the item name. */
export function mostAtRisk(rows: Iterable<MetricsRow>, n: number): MetricsRow[] {
  const top: MetricsRow[] = []
  for (const row of rows) {
    if (row.stockoutRisk === null) continue
    if (top.length === n && compareRisk(row, top[n - 1] as MetricsRow) >= 0) continue
    top.push(row)
    top.sort(compareRisk)
    if (top.length > n) top.pop()
  }
  return top
}

function compareRisk(a: MetricsRow, b: MetricsRow): number {
  return (
    (b.stockoutRisk ?? 0) - (a.stockoutRisk ?? 0) ||
    (a.daysOfCover ?? Number.POSITIVE_INFINITY) - (b.daysOfCover ?? Number.POSITIVE_INFINITY) ||
    (a.sku + a.warehouseId < b.sku + b.warehouseId ? -1 : 1)
  )
}
