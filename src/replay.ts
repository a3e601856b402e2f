// `invpipe replay`: event files → core → Parquet (and the alerts and rejects files).
// Batches are cut every BATCH_SIZE records, exactly as `consume` cuts them, so the two agree.
import { randomUUID } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { alertRecord } from './core/alerts.ts'
import type { CoreConfig } from './core/config.ts'
import { type Batch, Engine } from './core/engine.ts'
import type { Rejection } from './core/event.ts'
import { intake } from './core/intake.ts'
import { RISK_LEVELS, type RiskLevel } from './core/risk.ts'
import { METRICS_COLUMNS, type MetricsRow, metricsRecord } from './core/rows.ts'
import { Tally } from './core/tally.ts'
import type { BatchSink } from './sinks/batch-sink.ts'
import { JsonLinesWriter } from './sinks/jsonl.ts'
import { fileStamp, ParquetMetricsWriter } from './sinks/parquet.ts'
import type { InputFile } from './sources/files.ts'
import { type ParsedChunk, readParsed } from './sources/parsed.ts'

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
  /** How many of the items most at risk the summary lists (default 10). */
  top?: number
  /** Every item's final row with its reason, as CSV (SPEC §7 columns, then `reason`). */
  csvPath?: string | undefined
  /** Tells this run's outputs from another's; a random UUID when not given. */
  runId?: string
  /** The settings that shaped the figures, written with the run id into each Parquet file. */
  settings?: Record<string, number>
}

/** Items per risk level at the end of the run. */
export type RiskLevelCounts = Record<RiskLevel, number>

/** What a warehouse's planner has to order, at the end of the run. */
export interface WarehouseReorder {
  warehouseId: string
  items: number
  /** Items whose reorder quantity is above 0. */
  itemsToReorder: number
  /** Their reorder quantities, summed. */
  units: number
}

export interface ReplaySummary {
  runId: string
  tally: Tally
  items: number
  alerts: number
  rowsWritten: number
  files: string[]
  /** The final rows of highest risk, each with the sentence that explains it. */
  topAtRisk: (MetricsRow & { reason: string })[]
  riskLevels: RiskLevelCounts
  /** By warehouse id. */
  reorders: WarehouseReorder[]
  /** Rows written to the CSV file (every item), or null without one. */
  csvRows: number | null
  seconds: number
  eventsPerSecond: number
}

const TOP_AT_RISK = 10

export async function replay(options: ReplayOptions): Promise<ReplaySummary> {
  const now = options.now ?? Date.now
  const runId = options.runId ?? randomUUID()
  const started = performance.now()
  const sinks = options.sinks ?? []
  const engine = new Engine(options.core, { trackDaily: sinks.some((sink) => sink.needsDaily) })
  const tally = new Tally()
  const parquet = new ParquetMetricsWriter({
    dataDir: options.dataDir,
    stamp: fileStamp(now()),
    metadata: { 'invpipe.run_id': runId, 'invpipe.settings': JSON.stringify(options.settings ?? {}) },
  })
  const alerts = options.alertsPath ? new JsonLinesWriter(options.alertsPath) : null
  const rejects = options.rejectsPath ? new JsonLinesWriter(options.rejectsPath) : null
  let alertCount = 0
  let inBatch = 0

  const endBatch = async () => {
    const batch: Batch = engine.flush(now())
    await parquet.write(batch.rows)
    for (const sink of sinks) await sink.write(batch, now())
    alertCount += batch.alerts.length
    if (alerts !== null && batch.alerts.length > 0) {
      const generatedAt = now()
      for (const alert of batch.alerts) alerts.write(alertRecord(alert, generatedAt))
    }
    inBatch = 0
  }

  const reportRejection = (chunk: ParsedChunk, index: number, rejection: Rejection) => {
    rejects?.write({
      source: chunk.source,
      line: chunk.first + index,
      ...rejection,
      record: chunk.record(index),
    })
  }

  for (const input of options.inputs) {
    for await (const chunk of readParsed(input, { onBytes: options.onBytes, records: rejects !== null })) {
      const results = chunk.results
      for (let i = 0; i < results.length; i++) {
        const parsed = results[i]
        if (parsed === null || parsed === undefined) continue
        const outcome = intake(engine, tally, parsed)
        if (outcome === 'duplicate') rejects?.write(duplicateReport(chunk, i))
        else if (outcome !== 'applied') reportRejection(chunk, i, outcome)
        if (++inBatch >= options.batchSize) await endBatch()
      }
    }
  }
  if (inBatch > 0) await endBatch()
  const files = await parquet.close()
  await alerts?.close()
  await rejects?.close()
  const finalRows = [...engine.currentRows(now())]
  const csvRows = options.csvPath === undefined ? null : await writeCsv(options.csvPath, finalRows, engine)
  const seconds = (performance.now() - started) / 1000
  return {
    runId,
    tally,
    items: engine.itemCount,
    alerts: alertCount,
    rowsWritten: parquet.rowsWritten,
    files,
    topAtRisk: mostAtRisk(finalRows, options.top ?? TOP_AT_RISK).map((row) => ({
      ...row,
      reason: engine.reasonOf(row.sku, row.warehouseId),
    })),
    riskLevels: countRiskLevels(finalRows),
    reorders: reordersByWarehouse(finalRows),
    csvRows,
    seconds,
    eventsPerSecond: seconds > 0 ? tally.read / seconds : 0,
  }
}

export function countRiskLevels(rows: readonly MetricsRow[]): RiskLevelCounts {
  const counts = Object.fromEntries(RISK_LEVELS.map((level) => [level, 0])) as RiskLevelCounts
  for (const row of rows) counts[row.riskLevel]++
  return counts
}

export function reordersByWarehouse(rows: readonly MetricsRow[]): WarehouseReorder[] {
  const byWarehouse = new Map<string, WarehouseReorder>()
  for (const row of rows) {
    let entry = byWarehouse.get(row.warehouseId)
    if (entry === undefined) {
      entry = { warehouseId: row.warehouseId, items: 0, itemsToReorder: 0, units: 0 }
      byWarehouse.set(row.warehouseId, entry)
    }
    entry.items++
    if (row.reorderQuantity !== null && row.reorderQuantity > 0) {
      entry.itemsToReorder++
      entry.units += row.reorderQuantity
    }
  }
  return [...byWarehouse.values()].sort((a, b) => (a.warehouseId < b.warehouseId ? -1 : 1))
}

/** The CSV columns: SPEC §7's, in their order, then the reason in words. */
export const CSV_COLUMNS: readonly string[] = [...METRICS_COLUMNS.map((column) => column.name), 'reason']

/**
 * Every item's final row, most at risk first (as the summary's table; unknown risk last), as CSV
 * (RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled). Returns the rows.
 */
async function writeCsv(path: string, rows: MetricsRow[], engine: Engine): Promise<number> {
  mkdirSync(dirname(resolve(path)), { recursive: true })
  const writer = Bun.file(path).writer({ highWaterMark: 1 << 20 })
  writer.write(`${CSV_COLUMNS.join(',')}\n`)
  const sorted = rows.slice().sort(compareRisk)
  for (const row of sorted) {
    const record: Record<string, unknown> = metricsRecord(row)
    record.reason = engine.reasonOf(row.sku, row.warehouseId)
    writer.write(`${CSV_COLUMNS.map((column) => csvField(record[column])).join(',')}\n`)
  }
  await writer.end()
  return sorted.length
}

function csvField(value: unknown): string {
  if (value === null || value === undefined) return ''
  const text = String(value)
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/** A duplicate is not a rejection, but the engineer looking for a missing event wants to see it. */
function duplicateReport(chunk: ParsedChunk, index: number) {
  return {
    source: chunk.source,
    line: chunk.first + index,
    code: 'duplicate',
    message: 'same event_id as an earlier event of this item inside the deduplication window; ignored',
    record: chunk.record(index),
  }
}

/** The n rows of highest stockout risk; ties go to the fewer days of cover, then the item name. */
export function mostAtRisk(rows: Iterable<MetricsRow>, n: number): MetricsRow[] {
  const top: MetricsRow[] = []
  if (n <= 0) return top
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
    (b.stockoutRisk ?? -1) - (a.stockoutRisk ?? -1) ||
    (a.daysOfCover ?? Number.POSITIVE_INFINITY) - (b.daysOfCover ?? Number.POSITIVE_INFINITY) ||
    (a.sku + a.warehouseId < b.sku + b.warehouseId ? -1 : 1)
  )
}
