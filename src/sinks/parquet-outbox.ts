// Drains analytics.metrics_outbox into Parquet files so that every row committed by `consume`
// reaches exactly one file, across crashes too. An outbox entry holds the rows of one commit, packed
// (src/sinks/metrics-pack.ts), or one JSON row (stored before migration 4):
//   1. claim: one transaction names the file and marks the oldest unclaimed entries with it;
//   2. write: the file is written under a temporary name and renamed into place;
//   3. release: the claimed rows are deleted.
// A crash after 1 leaves a claim: whoever drains next writes the same rows to the same name
// (renaming over an identical file is harmless) and releases them. Several instances may drain at
// once: claims are serialised by an advisory lock and never overlap. Within one instance drains run
// one at a time (a drain asked for while one runs is skipped, or, at the end of a run, waits).
import { join } from 'node:path'
import type { Sql } from 'postgres'
import { type MetricsRecord, metricsRowFromRecord } from '../core/rows.ts'
import { crashPoint } from '../crash-points.ts'
import { packRows } from './metrics-pack.ts'
import { fileStamp, metricsFileName, ParquetFileWriter } from './parquet.ts'

export interface OutboxOptions {
  dataDir: string
  /** A file is written once this many rows wait... */
  rowsPerFile: number
  /** ...or once the oldest has waited this long. */
  maxWaitMs: number
  /** Distinguishes files written in the same millisecond by different instances. */
  instance: string
}

export class ParquetOutbox {
  readonly files: string[] = []
  rowsWritten = 0
  /** This instance's rows since its last drain, so that most batches need not ask PostgreSQL. */
  private rowsSinceDrain = 0
  private lastDrainAt: number | null = null
  private draining: Promise<unknown> | null = null
  /** Claims of this instance whose file could not be written: tried again first, at once. */
  private readonly failedClaims = new Set<string>()
  /**
   * Encodes and writes the drains' files on the second core: started with the first file and kept
   * until close(), its code compiled and warm (a new thread for each drain encoded ~4 times slower,
   * and made the last drain of a run wait for its start).
   */
  private fileWriter: ParquetFileWriter | null = null

  constructor(
    private readonly sql: Sql,
    private readonly options: OutboxOptions,
  ) {}

  /**
   * Writes files while enough rows wait (or, with `everything`, until none is left), first
   * finishing this instance's claims that failed (a full disk) and the claims that a crashed drain
   * left behind. Returns the files written. `retry` skips the check of whether enough rows wait
   * (a failed drain is tried again without waiting for more rows).
   */
  async drain(now: number, everything = false, retry = false): Promise<string[]> {
    if (this.draining !== null) {
      if (!everything) return []
      await this.draining.catch(() => {})
    }
    const run = this.drainOnce(now, everything, retry)
    this.draining = run
    try {
      return await run
    } finally {
      if (this.draining === run) this.draining = null
    }
  }

  /** Rows waiting in the outbox (all instances'). */
  async waitingRows(): Promise<number> {
    const [row] = await this.sql<{ n: number }[]>`
      SELECT coalesce(sum(row_count), 0)::int AS n FROM analytics.metrics_outbox`
    return row?.n ?? 0
  }

  private async drainOnce(now: number, everything: boolean, retry: boolean): Promise<string[]> {
    this.lastDrainAt ??= now
    if (
      !everything &&
      !retry &&
      this.rowsSinceDrain < this.options.rowsPerFile &&
      now - this.lastDrainAt < this.options.maxWaitMs
    ) {
      return []
    }
    this.rowsSinceDrain = 0
    this.lastDrainAt = now
    const written: string[] = []
    try {
      // Own failed claims first; at the end of a run, take over every claim too (finishing one
      // twice writes the same file twice, which is harmless).
      const claims = new Set([...this.failedClaims, ...(await this.abandonedClaims(everything ? 0 : 30))])
      for (const name of claims) {
        const path = await this.writeClaim(name)
        if (path !== null) written.push(path)
      }
      for (;;) {
        const name = await this.claim(now, everything)
        if (name === null) break
        const path = await this.writeClaim(name)
        if (path !== null) written.push(path)
      }
    } catch (error) {
      // The thread may have failed with the file: the next drain starts another.
      this.close()
      throw error
    } finally {
      this.files.push(...written)
    }
    return written
  }

  /** Stops the writer thread (a later drain starts another). */
  close(): void {
    this.fileWriter?.close()
    this.fileWriter = null
  }

  /** Counts rows this instance added to the outbox (committed with its batch). */
  added(rows: number): void {
    this.rowsSinceDrain += rows
  }

  /** Claims left by drains that did not finish (their instance crashed, or is long stuck). */
  private async abandonedClaims(olderThanSeconds: number): Promise<string[]> {
    const rows = await this.sql<{ file: string }[]>`
      SELECT DISTINCT file FROM analytics.metrics_outbox
      WHERE file IS NOT NULL AND claimed_at <= now() - make_interval(secs => ${olderThanSeconds})`
    return rows.map((row) => row.file)
  }

  private async claim(now: number, everything: boolean): Promise<string | null> {
    return this.sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(hashtext('invpipe_metrics_outbox'))`
      // The oldest unclaimed entries up to rowsPerFile rows (at least one entry: none holds more),
      // and how many rows wait in all: a file is due once they fill one, though whole entries
      // seldom add up to exactly rowsPerFile.
      const entries = await tx<{ id: number; rows: number; created_at: Date; waiting: string }[]>`
        SELECT id, row_count AS rows, created_at, waiting FROM (
          SELECT id, row_count, created_at, sum(row_count) OVER (ORDER BY id) AS upto,
            sum(row_count) OVER () AS waiting
          FROM analytics.metrics_outbox WHERE file IS NULL) AS w
        WHERE upto <= ${this.options.rowsPerFile} OR upto = row_count ORDER BY id`
      const first = entries[0]
      if (first === undefined) return null
      const oldest = Math.min(...entries.map((entry) => entry.created_at.getTime()))
      const ripe =
        everything ||
        Number(first.waiting) >= this.options.rowsPerFile ||
        now - oldest >= this.options.maxWaitMs
      if (!ripe) return null
      const name = metricsFileName(fileStamp(now), `${this.options.instance}_${first.id}`)
      await tx`
        UPDATE analytics.metrics_outbox SET file = ${name}, claimed_at = now()
        WHERE id = ANY(${entries.map((entry) => entry.id)}::bigint[])`
      return name
    })
  }

  /** Writes a claimed file and releases its rows; null when another instance already released them. */
  private async writeClaim(name: string): Promise<string | null> {
    // Until released, a claim of ours that fails (a full disk, PostgreSQL gone) is retried first.
    this.failedClaims.add(name)
    const entries = await this.sql<
      { row: MetricsRecord | null; packed: Uint8Array | null; row_count: number }[]
    >`SELECT row, packed, row_count FROM analytics.metrics_outbox WHERE file = ${name} ORDER BY id`
    if (entries.length === 0) {
      this.failedClaims.delete(name)
      return null
    }
    // Unpacked on the writer's thread; a row stored before migration 4 is packed like the others.
    const packed = entries.map(
      (entry) => entry.packed ?? packRows([metricsRowFromRecord(entry.row as MetricsRecord)]),
    )
    crashPoint('parquet-claimed')
    const path = join(this.options.dataDir, name)
    this.fileWriter ??= new ParquetFileWriter()
    await this.fileWriter.write(path, packed)
    crashPoint('parquet-renamed')
    this.rowsWritten += entries.reduce((sum, entry) => sum + entry.row_count, 0)
    await this.sql`DELETE FROM analytics.metrics_outbox WHERE file = ${name}`
    this.failedClaims.delete(name)
    return path
  }
}
