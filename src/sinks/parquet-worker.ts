// The thread that encodes and writes Parquet files (parquet.ts): for a ParquetMetricsWriter it takes
// row groups as columns, in order, and answers each one, so the writer can bound what waits; a
// failure (a full disk) is answered once and the file being written is given up, as in MetricsFile.
// For a ParquetFileWriter it writes whole files from packed outbox values, answering each.

import { unpackEntries } from './metrics-pack.ts'
import {
  type FromParquetWorker,
  MetricsFile,
  MetricsFileSequence,
  receivedGroup,
  type ToParquetWorker,
} from './parquet.ts'

declare const self: Worker

let files: MetricsFileSequence | null = null
let failed = false

self.onmessage = (event: MessageEvent<ToParquetWorker>) => {
  const message = event.data
  if ('file' in message) {
    answer(writeFile(message.file.path, message.file.packed))
    return
  }
  if (failed) return
  try {
    if ('open' in message) files = new MetricsFileSequence(message.open)
    else if ('group' in message) {
      files?.writeGroup(receivedGroup(message.group))
      answer({ written: message.group.rows })
    } else answer({ closed: files?.close() ?? [] })
  } catch (error) {
    failed = true
    files?.abort()
    answer({ failed: error instanceof Error ? error.message : String(error) })
  }
}

/** One whole file (ParquetFileWriter); a failure is that file's alone: the next is tried afresh. */
function writeFile(path: string, packed: Uint8Array[]): FromParquetWorker {
  try {
    const group = unpackEntries(packed)
    const file = new MetricsFile(path)
    file.writeGroup(group)
    file.finish()
    return { file: path, failed: null }
  } catch (error) {
    return { file: path, failed: error instanceof Error ? error.message : String(error) }
  }
}

function answer(message: FromParquetWorker): void {
  self.postMessage(message)
}
