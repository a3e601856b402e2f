// JSON-lines files: the replay's alerts and rejects outputs.
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type { FileSink } from 'bun'

export class JsonLinesWriter {
  private readonly sink: FileSink
  lines = 0

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true })
    this.sink = Bun.file(path).writer({ highWaterMark: 1 << 20 })
  }

  write(record: unknown): void {
    this.sink.write(`${JSON.stringify(record)}\n`)
    this.lines++
  }

  async close(): Promise<void> {
    await this.sink.end()
  }
}
