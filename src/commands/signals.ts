// Ctrl-C (SIGINT) and SIGTERM in a one-shot command: the temporary files it is writing are removed
// before it ends, with the shell's status for a signal (128 + its number: 130, 143).
import { readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'

const STATUS = { SIGINT: 130, SIGTERM: 143 } as const

/**
 * Until the returned function is called, SIGINT and SIGTERM remove what `temporaryFiles()` lists,
 * say so in one line and end the process. (A handler runs when the event loop turns: commands
 * that write for long must yield to it now and then.)
 */
export function removeOnInterrupt(temporaryFiles: () => string[]): () => void {
  const handler = (signal: keyof typeof STATUS) => {
    let removed = 0
    try {
      for (const path of temporaryFiles()) {
        rmSync(path, { force: true })
        removed++
      }
    } finally {
      process.stderr.write(
        `invpipe: interrupted by ${signal}${removed > 0 ? `; removed ${removed} unfinished temporary file(s)` : ''}\n`,
      )
      process.exit(STATUS[signal])
    }
  }
  process.once('SIGINT', handler)
  process.once('SIGTERM', handler)
  return () => {
    process.off('SIGINT', handler)
    process.off('SIGTERM', handler)
  }
}

/**
 * The hidden temporary Parquet files this process is writing in a directory: the Parquet writer
 * names them `.processed_metrics_….{pid}.{random}.tmp` until it renames them into place.
 */
export function parquetTemporaries(dataDir: string): string[] {
  const marker = `.${process.pid}.`
  try {
    return readdirSync(dataDir)
      .filter(
        (name) => name.startsWith('.processed_metrics_') && name.endsWith('.tmp') && name.includes(marker),
      )
      .map((name) => join(dataDir, name))
  } catch {
    return []
  }
}
