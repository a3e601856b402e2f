// The thread that reads and parses a large input file for the event loop (parsed.ts): records
// gathered into chunks of RECORDS_PER_CHUNK, each parsed and validated, packed and sent, never more
// than CHUNKS_AHEAD ahead of what the loop has taken.
import { type InputFile, readInput, type SourceChunk } from './files.ts'
import { CHUNKS_AHEAD, type FromParseWorker, packChunk, type ToParseWorker } from './parsed.ts'

declare const self: Worker

/** Enough records that a message's own cost is small beside theirs, few enough to keep the loop fed. */
const RECORDS_PER_CHUNK = 4096

let ahead = 0
let wake: (() => void) | null = null

self.onmessage = (event: MessageEvent<ToParseWorker>) => {
  const message = event.data
  if ('read' in message)
    read(message.read.input, message.read.records).then(
      () => answer({ end: true }),
      (error) => answer({ failed: error instanceof Error ? error.message : String(error) }),
    )
  else {
    ahead--
    wake?.()
  }
}

async function read(input: InputFile, keepRecords: boolean): Promise<void> {
  let pending: SourceChunk['records'] = []
  let first = 1
  let bytes = 0
  let source = input.path
  const send = async (count: number) => {
    while (ahead >= CHUNKS_AHEAD)
      await new Promise<void>((resolve) => {
        wake = resolve
      })
    ahead++
    const records = pending.slice(0, count) as SourceChunk['records']
    pending = pending.slice(count) as SourceChunk['records']
    const chunk = packChunk({ source, first, records } as SourceChunk, input.format, bytes, keepRecords)
    self.postMessage({ chunk } satisfies FromParseWorker, [
      chunk.kinds.buffer as ArrayBuffer,
      chunk.numbers.buffer as ArrayBuffer,
      chunk.nameLengths.buffer as ArrayBuffer,
    ])
    first += count
    bytes = 0
  }
  const onBytes = (read: number) => {
    bytes += read
  }
  for await (const chunk of readInput(input, onBytes)) {
    source = chunk.source
    pending = (pending as unknown[]).concat(chunk.records) as SourceChunk['records']
    while (pending.length >= RECORDS_PER_CHUNK) await send(RECORDS_PER_CHUNK)
  }
  if (pending.length > 0 || bytes > 0) await send(pending.length)
}

function answer(message: FromParseWorker): void {
  self.postMessage(message)
}
