// Parquet output: rows are gathered into column arrays one row group at a time, so memory
// stays bounded however many events are generated.
import { renameSync, rmSync } from 'node:fs'
import type { SchemaElement } from 'hyparquet'
import { fileWriter, ParquetWriter } from 'hyparquet-writer'
import { temporaryPath } from './jsonl-writer.ts'
import { type EventRow, type GeneratedLine, recordToRow } from './record.ts'

const ROW_GROUP_ROWS = 100_000

const STRING_COLUMNS = [
  'event_id',
  'event_type',
  'sku',
  'warehouse_id',
  'timestamp',
  'order_id',
  'expected_at',
] as const
const DOUBLE_COLUMNS = ['quantity', 'on_hand', 'lead_time_days'] as const
type ColumnName = (typeof STRING_COLUMNS)[number] | (typeof DOUBLE_COLUMNS)[number]

/** Column order of the file, the order of SPEC §2's table. */
const COLUMN_ORDER: readonly ColumnName[] = [
  'event_id',
  'event_type',
  'sku',
  'warehouse_id',
  'quantity',
  'timestamp',
  'on_hand',
  'lead_time_days',
  'order_id',
  'expected_at',
]

/**
 * Every column is OPTIONAL: well-formed rows never hold a null in the required ones, but a
 * "missing field" malformed row needs a way to be missing.
 */
const SCHEMA: SchemaElement[] = [
  { name: 'root', num_children: COLUMN_ORDER.length },
  ...COLUMN_ORDER.map(
    (name): SchemaElement =>
      (STRING_COLUMNS as readonly string[]).includes(name)
        ? { name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' }
        : { name, type: 'DOUBLE', repetition_type: 'OPTIONAL' },
  ),
]

type Columns = Record<ColumnName, (string | number | null)[]>

function emptyColumns(): Columns {
  return Object.fromEntries(COLUMN_ORDER.map((name) => [name, []])) as unknown as Columns
}

function rowOf(line: GeneratedLine): EventRow {
  return line.kind === 'event' ? recordToRow(line.record) : line.row
}

/** Writes lines as a Parquet file (temporary name, renamed when complete); returns the row count. */
export async function writeParquet(lines: Iterable<GeneratedLine>, path: string): Promise<number> {
  const temporary = temporaryPath(path)
  try {
    const count = await writeRowGroups(lines, temporary)
    renameSync(temporary, path)
    return count
  } catch (error) {
    rmSync(temporary, { force: true })
    throw error
  }
}

async function writeRowGroups(lines: Iterable<GeneratedLine>, path: string): Promise<number> {
  const writer = new ParquetWriter({
    writer: fileWriter(path),
    schema: SCHEMA,
    createdBy: 'invpipe generate',
  })
  let columns = emptyColumns()
  let rows = 0
  let count = 0
  const flush = async () => {
    const columnData = COLUMN_ORDER.map((name) => ({ name, data: columns[name] }))
    await writer.write({ columnData, rowGroupSize: ROW_GROUP_ROWS })
    columns = emptyColumns()
    rows = 0
    // Let the event loop turn between row groups, so that Ctrl-C can remove the temporary file.
    await new Promise((resolve) => setImmediate(resolve))
  }
  for (const line of lines) {
    const row = rowOf(line)
    for (const name of COLUMN_ORDER) columns[name].push(row[name])
    rows++
    count++
    if (rows === ROW_GROUP_ROWS) await flush()
  }
  if (rows > 0) await flush()
  await writer.finish()
  return count
}
