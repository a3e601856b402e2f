// JSONL output: lines are batched into large chunks, because one write per event would
// spend more time in system calls than in generating the events.
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
import { type GeneratedLine, lineText } from './record.ts'

/** About this many characters are collected before one write. */
const CHUNK_CHARS = 1 << 21

/** Where text goes; asynchronous so that pipes (stdout) get back-pressure. */
export interface TextSink {
  /** Resolves to false when the reader has gone away (a closed pipe): stop writing, it is not an error. */
  write(chunk: string): boolean | Promise<boolean>
  /** Completes the output; `ok` false discards a partial file. */
  close(ok: boolean): void | Promise<void>
}

/** Writes lines as JSONL and returns how many were written (fewer only when the reader went away). */
export async function writeJsonl(lines: Iterable<GeneratedLine>, sink: TextSink): Promise<number> {
  let written = 0
  let pending = 0
  let chunk = ''
  try {
    for (const line of lines) {
      chunk += `${lineText(line)}\n`
      pending++
      if (chunk.length >= CHUNK_CHARS) {
        if (!(await sink.write(chunk))) break
        written += pending
        pending = 0
        chunk = ''
      }
    }
    if (chunk.length > 0 && (await sink.write(chunk))) written += pending
  } catch (error) {
    await sink.close(false)
    throw error
  }
  await sink.close(true)
  return written
}

/**
 * A file written under a temporary name and renamed when complete, so a reader
 * (say, `invpipe replay` watching a directory) never sees half a file.
 */
export function fileSink(path: string): TextSink {
  const temporary = temporaryPath(path)
  const fd = openSync(temporary, 'w')
  return {
    write(chunk) {
      writeSync(fd, chunk)
      return true
    },
    close(ok) {
      closeSync(fd)
      if (ok) renameSync(temporary, path)
      else rmSync(temporary, { force: true })
    },
  }
}

/** Standard output; a reader that stops early (`| head`) ends the run quietly. */
export function stdoutSink(): TextSink {
  return {
    async write(chunk) {
      try {
        await Bun.write(Bun.stdout, chunk)
        return true
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EPIPE') return false
        throw error
      }
    },
    close() {},
  }
}

export function temporaryPath(path: string): string {
  return `${path}.tmp-${process.pid}`
}
