// File sources for replay and backtest: JSON-lines files, Parquet files and standard input.
// They hand out records in chunks, so the per-record cost is a loop step, not an await.
import { closeSync, openSync, readSync, realpathSync, statSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { asyncBufferFromFile, type Compressors, parquetMetadataAsync, parquetReadObjects } from 'hyparquet'
import { SourceError } from '../errors.ts'

/** Records of one source, `first` being the 1-based line (or row) number of `records[0]`. */
export type SourceChunk =
  | { source: string; first: number; kind: 'text'; records: string[] }
  | { source: string; first: number; kind: 'object'; records: Record<string, unknown>[] }

export interface InputFile {
  path: string
  format: 'jsonl' | 'parquet'
  /** Bytes; 0 for standard input. */
  size: number
}

/** Checks every input before any is read, so a missing file fails the run before it starts. */
export function openInputs(paths: readonly string[]): InputFile[] {
  if (paths.length === 0)
    throw new SourceError('no input: name one or more event files, or - for standard input')
  checkNamedOnce(paths)
  return paths.map((path) => {
    if (path === '-') return { path, format: 'jsonl', size: 0 }
    let size: number
    try {
      const stat = statSync(path)
      if (!stat.isFile()) throw new SourceError(`${path}: not a regular file`)
      size = stat.size
      closeSync(openSync(path, 'r'))
    } catch (error) {
      if (error instanceof SourceError) throw error
      throw new SourceError(
        `${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      )
    }
    return { path, format: isParquet(path) ? 'parquet' : 'jsonl', size }
  })
}

/** The same file named twice would be counted twice (every event a duplicate, or worse, not). */
function checkNamedOnce(paths: readonly string[]): void {
  const seen = new Map<string, string>()
  for (const path of paths) {
    const ids = path === '-' ? ['stdin'] : fileIdentities(path)
    const earlier = ids.map((id) => seen.get(id)).find((found) => found !== undefined)
    if (earlier !== undefined)
      throw new SourceError(
        earlier === path
          ? `${path === '-' ? 'standard input (-)' : path} is named twice; each input is read once`
          : `${path} is the same file as ${earlier}; each input is read once`,
      )
    for (const id of ids) seen.set(id, path)
  }
}

/**
 * What makes two names the same file: its real location (the path made absolute, `..` applied,
 * every existing link on the way followed) and, when it exists, its device and inode (so a hard
 * link is the same file too). Two names are the same file when they share any of these.
 */
export function fileIdentities(path: string): string[] {
  const ids = [`path ${realLocation(resolve(path))}`]
  try {
    const stat = statSync(path)
    ids.push(`inode ${stat.dev}:${stat.ino}`)
  } catch {
    // Not there (yet): the location is all there is.
  }
  return ids
}

function realLocation(absolute: string): string {
  try {
    return realpathSync(absolute)
  } catch {
    const parent = dirname(absolute)
    return parent === absolute ? absolute : join(realLocation(parent), basename(absolute))
  }
}

function isParquet(path: string): boolean {
  if (path.endsWith('.parquet')) return true
  const fd = openSync(path, 'r')
  try {
    const magic = Buffer.alloc(4)
    return readSync(fd, magic, 0, 4, 0) === 4 && magic.toString('latin1') === 'PAR1'
  } finally {
    closeSync(fd)
  }
}

/** How long reading may keep the event loop busy before letting it turn (signals, timers). */
const YIELD_EVERY_MS = 50

export async function* readInput(
  input: InputFile,
  onBytes: (bytes: number) => void = () => {},
): AsyncGenerator<SourceChunk> {
  const chunks =
    input.format === 'parquet'
      ? readParquet(input.path, onBytes)
      : readJsonLines(
          input.path === '-' ? 'stdin' : input.path,
          input.path === '-' ? Bun.stdin.stream() : Bun.file(input.path).stream(),
          onBytes,
        )
  try {
    yield* withTurns(chunks)
  } catch (error) {
    throw readFailure(input, error)
  }
}

/**
 * A file that fails while it is read (gone, unreadable, a Parquet page that does not decode) is one
 * line naming it, as a file that fails to open is, not a crash with the reader's stack.
 */
function readFailure(input: InputFile, error: unknown): Error {
  if (error instanceof SourceError || !(error instanceof Error)) return error as Error
  const name = input.path === '-' ? 'standard input' : input.path
  const code = (error as NodeJS.ErrnoException).code
  if (code !== undefined) return new SourceError(`${name}: cannot read (${code})`)
  const cause = error.message.split('\n')[0]
  return new SourceError(
    input.format === 'parquet'
      ? `${name}: not a readable Parquet file (${cause})`
      : `${name}: cannot read (${cause})`,
  )
}

/**
 * A local file's chunks come without the event loop ever turning, so Ctrl-C would wait for the end
 * of the run: every 50 ms it gets a turn.
 */
export async function* withTurns<T>(chunks: AsyncIterable<T>): AsyncGenerator<T> {
  let turned = performance.now()
  for await (const chunk of chunks) {
    yield chunk
    if (performance.now() - turned >= YIELD_EVERY_MS) {
      await new Promise((resolve) => setImmediate(resolve))
      turned = performance.now()
    }
  }
}

/** Splits a byte stream into lines; a final line without a newline still counts. */
export async function* readJsonLines(
  source: string,
  stream: ReadableStream<Uint8Array>,
  onBytes: (bytes: number) => void,
): AsyncGenerator<SourceChunk> {
  const decoder = new TextDecoder()
  let carry = ''
  let line = 1
  for await (const bytes of stream) {
    onBytes(bytes.byteLength)
    const text = carry + decoder.decode(bytes, { stream: true })
    const lines = text.split('\n')
    carry = lines.pop() as string
    if (lines.length > 0) {
      yield { source, first: line, kind: 'text', records: lines }
      line += lines.length
    }
  }
  const rest = carry + decoder.decode()
  if (rest.length > 0) yield { source, first: line, kind: 'text', records: [rest] }
}

const PARQUET_ROWS_PER_CHUNK = 65_536

/**
 * hyparquet reads Snappy and uncompressed files by itself; these add the other codecs common
 * writers use (invpipe's own metrics files are ZSTD), with Bun's native decoders.
 */
export const PARQUET_DECOMPRESSORS: Compressors = {
  ZSTD: (input) => Bun.zstdDecompressSync(input as Uint8Array<ArrayBuffer>),
  GZIP: (input) => Bun.gunzipSync(input as Uint8Array<ArrayBuffer>),
}

async function* readParquet(path: string, onBytes: (bytes: number) => void): AsyncGenerator<SourceChunk> {
  const file = await asyncBufferFromFile(path)
  let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>
  try {
    metadata = await parquetMetadataAsync(file)
  } catch (error) {
    throw new SourceError(`${path}: not a readable Parquet file (${(error as Error).message})`)
  }
  const rowCount = Number(metadata.num_rows)
  for (let rowStart = 0; rowStart < rowCount; rowStart += PARQUET_ROWS_PER_CHUNK) {
    const rowEnd = Math.min(rowCount, rowStart + PARQUET_ROWS_PER_CHUNK)
    const rows = await parquetReadObjects({
      file,
      metadata,
      rowStart,
      rowEnd,
      compressors: PARQUET_DECOMPRESSORS,
    })
    onBytes(Math.round((file.byteLength * (rowEnd - rowStart)) / rowCount))
    yield { source: path, first: rowStart + 1, kind: 'object', records: rows.map(eventFieldsOfRow) }
  }
}

/**
 * A Parquet row as the JSON event it stands for: INT64 columns arrive as bigint and TIMESTAMP
 * columns as Date; both become the numbers SPEC §2 speaks of, inside lists and structs too (a
 * rejected row is written to the rejects file as JSON, which has no bigint).
 */
function eventFieldsOfRow(row: Record<string, unknown>): Record<string, unknown> {
  for (const field in row) row[field] = asJsonValue(row[field])
  return row
}

function asJsonValue(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value)
  if (value instanceof Date) return value.getTime()
  if (Array.isArray(value)) return value.map(asJsonValue)
  if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value))
    return eventFieldsOfRow(value as Record<string, unknown>)
  return value
}
