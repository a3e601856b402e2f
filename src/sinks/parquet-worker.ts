// The thread that encodes and writes the Parquet files of a ParquetMetricsWriter (parquet.ts): it
// takes row groups as columns, in order, and answers each one, so the writer can bound what waits.
// A failure (a full disk) is answered once; the file being written is given up, as in MetricsFile.
import { type FromParquetWorker, MetricsFileSequence, type ToParquetWorker } from './parquet.ts'

declare const self: Worker

let files: MetricsFileSequence | null = null
let failed = false

self.onmessage = (event: MessageEvent<ToParquetWorker>) => {
  if (failed) return
  const message = event.data
  try {
    if ('open' in message) files = new MetricsFileSequence(message.open)
    else if ('group' in message) {
      files?.writeGroup(message.group)
      answer({ written: message.group.rows })
    } else answer({ closed: files?.close() ?? [] })
  } catch (error) {
    failed = true
    files?.abort()
    answer({ failed: error instanceof Error ? error.message : String(error) })
  }
}

function answer(message: FromParquetWorker): void {
  self.postMessage(message)
}
