// Records of a source, parsed and validated: what the event loop takes (replay, backtest, item).
// A large file (JSON lines or Parquet) is read and parsed on a worker thread (parse-worker.ts) ahead
// of the loop, on the second core: the main thread only rebuilds the accepted events from packed
// columns, a third of what parsing them cost it. Standard input and small files are parsed here.
import { EVENT_TYPES, type InventoryEvent, type ParseResult, type Rejection } from '../core/event.ts'
import { parseRecord } from '../core/intake.ts'
import { SourceError } from '../errors.ts'
import { type InputFile, readInput, type SourceChunk, withTurns } from './files.ts'

export interface ParsedChunk {
  source: string
  /** The 1-based line (or row) number of results[0]. */
  first: number
  /** Per record: its event or rejection, or null for a blank line. */
  results: (ParseResult | null)[]
  /** The record as read (a line, or a Parquet row), for the rejects file; only when asked for. */
  record(index: number): string | Record<string, unknown>
}

export interface ReadOptions {
  onBytes?: (bytes: number) => void
  /** Keep each record as read, for record(): the lines cross from the worker only then. */
  records?: boolean
  /** Files of at least this size are parsed on the worker. */
  workerFromBytes?: number
}

/** Below this size a file is parsed on the main thread: a worker takes longer to start than that. */
export const PARSE_WORKER_FROM_BYTES = 1 << 20

export async function* readParsed(input: InputFile, options: ReadOptions = {}): AsyncGenerator<ParsedChunk> {
  const onBytes = options.onBytes ?? (() => {})
  const workerFromBytes = options.workerFromBytes ?? PARSE_WORKER_FROM_BYTES
  if (input.path === '-' || input.size < workerFromBytes) {
    for await (const chunk of readInput(input, onBytes)) yield parsedHere(chunk)
    return
  }
  yield* withTurns(parsedOnWorker(input, onBytes, options.records ?? false))
}

function parsedHere(chunk: SourceChunk): ParsedChunk {
  const records = chunk.records as (string | Record<string, unknown>)[]
  return {
    source: chunk.source,
    first: chunk.first,
    results: records.map(parseRecord),
    record: (index) => records[index] as string | Record<string, unknown>,
  }
}

/**
 * A chunk of parsed records as it crosses from the worker: the accepted events as columns (numbers
 * in one Float64Array, strings as one text: posting objects or arrays of strings clones them one by
 * one), the rejections as they are, and, when asked for, the records themselves as one text.
 */
export interface PackedChunk {
  source: string
  first: number
  /** Per record: BLANK, EVENT or REJECTED. */
  kinds: Uint8Array
  /** NUMBERS_PER_EVENT per accepted event; NaN stands for null. */
  numbers: Float64Array
  /** JSON array, two per accepted event: event_id, and order_id or null. */
  ids: string
  /** Each accepted event's sku and warehouse_id, one after the other, and their lengths. */
  names: string
  nameLengths: Uint8Array
  rejections: Rejection[]
  /**
   * When the records are wanted (they are a third of the memory the worker adds): lines joined by
   * '\n', or Parquet rows as a JSON array.
   */
  text: string | null
  format: InputFile['format']
  /** Bytes of the file the records came from. */
  bytes: number
}

const BLANK = 0
const EVENT = 1
const REJECTED = 2
const NUMBERS_PER_EVENT = 6

export function packChunk(
  chunk: SourceChunk,
  format: InputFile['format'],
  bytes: number,
  keepRecords: boolean,
): PackedChunk {
  const records = chunk.records as (string | Record<string, unknown>)[]
  const kinds = new Uint8Array(records.length)
  const numbers = new Float64Array(records.length * NUMBERS_PER_EVENT)
  const ids: (string | null)[] = []
  const names: string[] = []
  const nameLengths = new Uint8Array(records.length * 2)
  const rejections: Rejection[] = []
  let at = 0
  for (let i = 0; i < records.length; i++) {
    const parsed = parseRecord(records[i] as string | Record<string, unknown>)
    if (parsed === null) kinds[i] = BLANK
    else if (!parsed.ok) {
      kinds[i] = REJECTED
      rejections.push(parsed.rejection)
    } else {
      kinds[i] = EVENT
      const event = parsed.event
      numbers[at] = EVENT_TYPES.indexOf(event.type)
      numbers[at + 1] = event.quantity
      numbers[at + 2] = event.ts
      numbers[at + 3] = event.onHand ?? Number.NaN
      numbers[at + 4] = event.leadTimeDays ?? Number.NaN
      numbers[at + 5] = event.expectedAt ?? Number.NaN
      at += NUMBERS_PER_EVENT
      nameLengths[names.length] = event.sku.length
      nameLengths[names.length + 1] = event.warehouseId.length
      names.push(event.sku, event.warehouseId)
      ids.push(event.eventId, event.orderId)
    }
  }
  return {
    source: chunk.source,
    first: chunk.first,
    kinds,
    numbers: numbers.subarray(0, at),
    ids: JSON.stringify(ids),
    names: names.join(''),
    nameLengths: nameLengths.subarray(0, names.length),
    rejections,
    text: !keepRecords ? null : format === 'jsonl' ? records.join('\n') : JSON.stringify(records),
    format,
    bytes,
  }
}

export function unpackChunk(packed: PackedChunk): ParsedChunk {
  const { kinds, numbers, names, nameLengths } = packed
  // The ids parsed, not sliced from one text: a slice would keep the whole text alive for as long
  // as the item remembers the event id (or the order). The names are not kept: slices will do.
  const ids = JSON.parse(packed.ids) as (string | null)[]
  const results = new Array<ParseResult | null>(kinds.length)
  let n = 0
  let s = 0
  let r = 0
  let name = 0
  for (let i = 0; i < kinds.length; i++) {
    const kind = kinds[i]
    if (kind === BLANK) results[i] = null
    else if (kind === REJECTED) results[i] = { ok: false, rejection: packed.rejections[r++] as Rejection }
    else {
      const skuEnd = name + (nameLengths[s] as number)
      const warehouseEnd = skuEnd + (nameLengths[s + 1] as number)
      const event: InventoryEvent = {
        eventId: ids[s] as string,
        type: EVENT_TYPES[numbers[n] as number] as InventoryEvent['type'],
        sku: names.slice(name, skuEnd),
        warehouseId: names.slice(skuEnd, warehouseEnd),
        quantity: numbers[n + 1] as number,
        ts: numbers[n + 2] as number,
        onHand: orNull(numbers[n + 3] as number),
        leadTimeDays: orNull(numbers[n + 4] as number),
        orderId: ids[s + 1] as string | null,
        expectedAt: orNull(numbers[n + 5] as number),
      }
      results[i] = { ok: true, event }
      n += NUMBERS_PER_EVENT
      s += 2
      name = warehouseEnd
    }
  }
  let records: (string | Record<string, unknown>)[] | null = null
  return {
    source: packed.source,
    first: packed.first,
    results,
    record: (index) => {
      if (packed.text === null) throw new Error('records were not asked for')
      records ??= packed.format === 'jsonl' ? packed.text.split('\n') : JSON.parse(packed.text)
      return (records as (string | Record<string, unknown>)[])[index] as string | Record<string, unknown>
    },
  }
}

function orNull(value: number): number | null {
  return Number.isNaN(value) ? null : value
}

/** What the parse worker is told, and what it answers. */
export type ToParseWorker = { read: { input: InputFile; records: boolean } } | { taken: true }
export type FromParseWorker = { chunk: PackedChunk } | { end: true } | { failed: string }

/** Chunks the worker may send ahead of the loop: it keeps parsing while the loop works, within bounds. */
export const CHUNKS_AHEAD = 4

async function* parsedOnWorker(
  input: InputFile,
  onBytes: (bytes: number) => void,
  records: boolean,
): AsyncGenerator<ParsedChunk> {
  const worker = new Worker(new URL('./parse-worker.ts', import.meta.url))
  const waiting: FromParseWorker[] = []
  let wake: (() => void) | null = null
  const hear = (message: FromParseWorker) => {
    waiting.push(message)
    wake?.()
  }
  worker.onmessage = (event: MessageEvent<FromParseWorker>) => hear(event.data)
  // An uncaught error's message carries a source excerpt on further lines: its first line is the cause.
  worker.onerror = (event) => hear({ failed: (event.message ?? 'worker failed').split('\n')[0] as string })
  // A worker that ends without a word (killed, out of memory) must not leave the loop waiting.
  worker.addEventListener('close', (event) => {
    hear({ failed: `the parse worker stopped (exit code ${(event as CloseEvent).code})` })
  })
  try {
    worker.postMessage({ read: { input, records } } satisfies ToParseWorker)
    for (;;) {
      while (waiting.length === 0)
        await new Promise<void>((resolve) => {
          wake = resolve
        })
      const message = waiting.shift() as FromParseWorker
      if ('end' in message) return
      if ('failed' in message) throw new SourceError(failure(input.path, message.failed))
      onBytes(message.chunk.bytes)
      const chunk = unpackChunk(message.chunk)
      worker.postMessage({ taken: true } satisfies ToParseWorker)
      yield chunk
    }
  } finally {
    worker.terminate()
  }
}

/** The worker's error as the main thread would have said it: a SourceError's own line, or the cause. */
function failure(path: string, message: string): string {
  return message.startsWith(`${path}: `) ? message : `${path}: cannot read (${message})`
}
