// The thread that reads and parses a large JSON-lines file for the event loop (parsed.ts): lines
// gathered into chunks of at least LINES_PER_CHUNK, each parsed and validated, packed and sent,
// never more than CHUNKS_AHEAD ahead of what the loop has taken.
import { readJsonLines } from './files.ts'
import { CHUNKS_AHEAD, type FromParseWorker, packChunk, type ToParseWorker } from './parsed.ts'

declare const self: Worker

/** Enough lines that a message's own cost is small beside theirs. */
const LINES_PER_CHUNK = 4096

let ahead = 0
let wake: (() => void) | null = null

self.onmessage = (event: MessageEvent<ToParseWorker>) => {
  const message = event.data
  if ('read' in message)
    read(message.read.path, message.read.records).then(
      () => answer({ end: true }),
      (error) => answer({ failed: error instanceof Error ? error.message : String(error) }),
    )
  else {
    ahead--
    wake?.()
  }
}

async function read(path: string, records: boolean): Promise<void> {
  let lines: string[] = []
  let first = 1
  let bytes = 0
  const send = async () => {
    while (ahead >= CHUNKS_AHEAD)
      await new Promise<void>((resolve) => {
        wake = resolve
      })
    ahead++
    const chunk = packChunk(path, first, lines, bytes, records)
    self.postMessage({ chunk } satisfies FromParseWorker, [
      chunk.kinds.buffer as ArrayBuffer,
      chunk.numbers.buffer as ArrayBuffer,
      chunk.nameLengths.buffer as ArrayBuffer,
    ])
    first += lines.length
    lines = []
    bytes = 0
  }
  for await (const chunk of readJsonLines(path, Bun.file(path).stream(), (read) => {
    bytes += read
  })) {
    for (const line of chunk.records as string[]) lines.push(line)
    if (lines.length >= LINES_PER_CHUNK) await send()
  }
  if (lines.length > 0 || bytes > 0) await send()
}

function answer(message: FromParseWorker): void {
  self.postMessage(message)
}
