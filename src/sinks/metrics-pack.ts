// Processed-metrics rows packed into one binary value, so that a commit of `consume` stores all the
// rows it emitted for the Parquet archive as one bytea in analytics.metrics_outbox instead of one
// JSON row each (PostgreSQL then parses, indexes, claims and deletes one value per commit, not one
// per row). Columnar: the three strings of each row as one newline-joined UTF-8 text (SPEC §2 keeps
// '\n' out of skus and warehouse ids; risk levels are fixed words), then every numeric field as a
// float64 column (each value of a MetricsRow fits a double exactly), a null flag beside each value
// of a nullable field; the whole compressed as one zstd frame (values packed before that were
// stored uncompressed, and are read as they are). Unpacked, the rows come back exactly, as the
// Parquet writer's columns.
import { METRICS_COLUMNS, type MetricsColumn, type MetricsRow } from '../core/rows.ts'
import type { ColumnGroup } from './parquet.ts'

type NumericField = {
  [K in keyof MetricsRow]: MetricsRow[K] extends number | null ? K : never
}[keyof MetricsRow]

const NUMERIC_FIELDS: readonly NumericField[] = [
  'asOfDay',
  'lastEventAt',
  'eventCount',
  'onHand',
  'velocity7d',
  'velocity30d',
  'volatility',
  'trend',
  'seasonalityIndex',
  'daysOfHistory',
  'leadTimeDays',
  'expectedDemandLeadTime',
  'stockoutRisk',
  'daysOfCover',
  'safetyStock',
  'reorderPoint',
  'reorderQuantity',
  'onOrder',
  'inventoryPosition',
  'expectedStockoutDate',
  'computedAt',
]

/** Format version, so that a later layout can still read values packed by this one. */
const VERSION = 1
/** version, row count, text bytes */
const HEADER_BYTES = 12

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** zstd's frame magic number, 0xFD2FB528 little-endian: no uncompressed layout starts so (its version is 1). */
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd]

/**
 * The layout compressed: a quarter of its size (the columns hold many near and repeated values), so
 * that postgres.js copies, and PostgreSQL decodes, stores and logs, a quarter of the bytes; zstd's
 * fastest level compresses as small as the default here.
 */
export function packRows(rows: readonly MetricsRow[]): Uint8Array {
  return Bun.zstdCompressSync(layout(rows), { level: 1 })
}

/** The string fields, in the order the layout's text holds them for each row. */
const STRING_FIELDS: readonly (keyof MetricsRow)[] = ['sku', 'warehouseId', 'riskLevel']

/**
 * The rows as the Parquet writer's columns (METRICS_COLUMNS' order; null as NaN): the layout is
 * columnar already, so no row object is built (the drain of the outbox writes them straight away).
 */
export function unpackColumns(packed: Uint8Array): ColumnGroup {
  const { n, numbers, nulls, words } = readLayout(packed)
  const columns = (METRICS_COLUMNS as readonly MetricsColumn[]).map((column) => {
    if (column.kind === 'string') {
      const at = STRING_FIELDS.indexOf(column.field)
      return Array.from({ length: n }, (_, i) => words[3 * i + at] as string)
    }
    const f = NUMERIC_FIELDS.indexOf(column.field as NumericField)
    const values = numbers.slice(f * n, (f + 1) * n)
    for (let i = 0; i < n; i++) if (nulls[f * n + i] === 1) values[i] = Number.NaN
    return values
  })
  return { rows: n, columns }
}

/**
 * Packed values (each compressed or not) as one row group, in order: what the Parquet worker makes of
 * a claimed file's outbox entries, so that the drain's unpacking runs on its thread, not consume's.
 */
export function unpackEntries(entries: readonly Uint8Array[]): ColumnGroup {
  const groups = entries.map(unpackColumns)
  const rows = groups.reduce((sum, group) => sum + group.rows, 0)
  const columns = (groups[0]?.columns ?? []).map((first, c) => {
    if (Array.isArray(first)) return groups.flatMap((group) => group.columns[c] as string[])
    const values = new Float64Array(rows)
    let at = 0
    for (const group of groups) {
      values.set(group.columns[c] as Float64Array, at)
      at += group.rows
    }
    return values
  })
  return { rows, columns }
}

/** A packed value's columns, decompressed (entries packed before compression came are not). */
function readLayout(packed: Uint8Array) {
  const compressed = ZSTD_MAGIC.every((byte, i) => packed[i] === byte)
  const layout = compressed ? Bun.zstdDecompressSync(packed) : packed
  const header = new DataView(layout.buffer, layout.byteOffset, HEADER_BYTES)
  const version = header.getUint32(0, true)
  if (version !== VERSION) throw new Error(`packed metrics rows of unknown version ${version}`)
  const n = header.getUint32(4, true)
  const textBytes = header.getUint32(8, true)
  const cells = n * NUMERIC_FIELDS.length
  // Copied out: a Float64Array needs an 8-byte aligned start, which a driver's buffer need not have.
  const numbersStart = layout.byteOffset + HEADER_BYTES
  const numbers = new Float64Array(layout.buffer.slice(numbersStart, numbersStart + cells * 8))
  const nulls = layout.subarray(HEADER_BYTES + cells * 8, HEADER_BYTES + cells * 9)
  const text = decoder.decode(layout.subarray(HEADER_BYTES + cells * 9, HEADER_BYTES + cells * 9 + textBytes))
  return { n, numbers, nulls, words: n === 0 ? [] : text.split('\n') }
}

function layout(rows: readonly MetricsRow[]): Uint8Array {
  const n = rows.length
  const text = encoder.encode(rows.map((r) => `${r.sku}\n${r.warehouseId}\n${r.riskLevel}`).join('\n'))
  const numbers = new Float64Array(n * NUMERIC_FIELDS.length)
  const nulls = new Uint8Array(n * NUMERIC_FIELDS.length)
  NUMERIC_FIELDS.forEach((field, f) => {
    const base = f * n
    for (let i = 0; i < n; i++) {
      const value = (rows[i] as MetricsRow)[field]
      if (value === null) nulls[base + i] = 1
      else numbers[base + i] = value
    }
  })
  const packed = new Uint8Array(HEADER_BYTES + numbers.byteLength + nulls.byteLength + text.byteLength)
  const header = new DataView(packed.buffer)
  header.setUint32(0, VERSION, true)
  header.setUint32(4, n, true)
  header.setUint32(8, text.byteLength, true)
  packed.set(new Uint8Array(numbers.buffer), HEADER_BYTES)
  packed.set(nulls, HEADER_BYTES + numbers.byteLength)
  packed.set(text, HEADER_BYTES + numbers.byteLength + nulls.byteLength)
  return packed
}
