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
import type { MetricsRow } from '../core/rows.ts'
import { crashPoint } from '../crash-points.ts'

type ColumnKind = 'string' | 'date' | 'timestamp' | 'int64' | 'double'

interface Column {
  name: string
  kind: ColumnKind
  nullable: boolean
  value: (row: MetricsRow) => string | number | null
}

const column = (name: string, kind: ColumnKind, value: Column['value'], nullable = false): Column => ({
  name,
  kind,
  nullable,
  value,
})

/** The SPEC §7 columns, in order. */
export const METRICS_COLUMNS: readonly Column[] = [
  column('sku', 'string', (r) => r.sku),
  column('warehouse_id', 'string', (r) => r.warehouseId),
  column('as_of_date', 'date', (r) => r.asOfDay),
  column('last_event_at', 'timestamp', (r) => r.lastEventAt),
  column('event_count', 'int64', (r) => r.eventCount),
  column('on_hand', 'double', (r) => r.onHand, true),
  column('velocity_7d', 'double', (r) => r.velocity7d),
  column('velocity_30d', 'double', (r) => r.velocity30d),
  column('volatility', 'double', (r) => r.volatility),
  column('trend', 'double', (r) => r.trend),
  column('seasonality_index', 'double', (r) => r.seasonalityIndex),
  column('days_of_history', 'int64', (r) => r.daysOfHistory),
  column('lead_time_days', 'double', (r) => r.leadTimeDays),
  column('expected_demand_lead_time', 'double', (r) => r.expectedDemandLeadTime),
  column('stockout_risk', 'double', (r) => r.stockoutRisk, true),
  column('risk_level', 'string', (r) => r.riskLevel),
  column('days_of_cover', 'double', (r) => r.daysOfCover, true),
  column('safety_stock', 'double', (r) => r.safetyStock),
  column('reorder_point', 'double', (r) => r.reorderPoint),
  column('reorder_quantity', 'double', (r) => r.reorderQuantity, true),
  column('on_order', 'double', (r) => r.onOrder),
  column('inventory_position', 'double', (r) => r.inventoryPosition, true),
  column('expected_stockout_date', 'date', (r) => r.expectedStockoutDate, true),
  column('computed_at', 'timestamp', (r) => r.computedAt),
]

function schemaElement({ name, kind, nullable }: Column): SchemaElement {
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

const SCHEMA: SchemaElement[] = [
  { name: 'root', num_children: METRICS_COLUMNS.length },
  ...METRICS_COLUMNS.map(schemaElement),
]

/**
 * Column arrays of a row group: typed arrays where no null can occur, plain arrays otherwise.
 * Min/max statistics only for the columns readers filter on (item, dates): on the measures they
 * cost a third of the write time and prune nothing.
 */
function columnData(rows: readonly MetricsRow[]) {
  return METRICS_COLUMNS.map((c) => {
    let data: unknown
    if (c.nullable) data = rows.map(c.value)
    else if (c.kind === 'int64' || c.kind === 'timestamp')
      data = BigInt64Array.from(rows, (r) => BigInt(c.value(r) as number))
    else if (c.kind === 'double') data = Float64Array.from(rows, (r) => c.value(r) as number)
    else if (c.kind === 'date') data = Int32Array.from(rows, (r) => c.value(r) as number)
    else data = rows.map(c.value)
    return { name: c.name, data: data as never, statistics: c.kind !== 'double' && c.kind !== 'int64' }
  })
}

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
      kvMetadata: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    })
  }

  writeRowGroup(rows: readonly MetricsRow[]): void {
    if (rows.length === 0) return
    try {
      this.writer.write({ columnData: columnData(rows), rowGroupSize: rows.length })
    } catch (error) {
      // A full disk, say: no half-written temporary file is left behind.
      this.abort()
      throw error
    }
    this.rows += rows.length
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

/** Writes rows into a sequence of Parquet files, each closed once it holds rowsPerFile rows. */
export class ParquetMetricsWriter {
  readonly files: string[] = []
  /** Rows handed to a file so far (written, or in the file still open). */
  rowsWritten = 0
  private readonly rowGroupRows: number
  private readonly rowsPerFile: number
  private pending: MetricsRow[] = []
  private current: MetricsFile | null = null

  constructor(private readonly options: ParquetFileOptions) {
    this.rowGroupRows = options.rowGroupRows ?? 100_000
    this.rowsPerFile = options.rowsPerFile ?? 1_000_000
    mkdirSync(options.dataDir, { recursive: true })
  }

  write(rows: readonly MetricsRow[]): void {
    for (const row of rows) {
      this.pending.push(row)
      if (this.pending.length >= this.rowGroupRows) this.writeRowGroup()
    }
  }

  /** Writes what is pending and closes the current file. */
  close(): string[] {
    this.writeRowGroup()
    this.finishFile()
    return this.files
  }

  private writeRowGroup(): void {
    if (this.pending.length === 0) return
    const file = this.current ?? this.openFile()
    file.writeRowGroup(this.pending)
    this.rowsWritten += this.pending.length
    this.pending = []
    if (file.rows >= this.rowsPerFile) this.finishFile()
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
