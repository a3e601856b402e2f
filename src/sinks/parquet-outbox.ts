// Drains analytics.metrics_outbox into Parquet files so that every row committed by `consume`
// reaches exactly one file, across crashes too:
//   1. claim: one transaction names the file and marks the oldest unclaimed rows with it;
//   2. write: the file is written under a temporary name and renamed into place;
//   3. release: the claimed rows are deleted.
// A crash after 1 leaves a claim: whoever drains next writes the same rows to the same name
// (renaming over an identical file is harmless) and releases them. Several instances may drain at
// once: claims are serialised by an advisory lock and never overlap.
import { join } from 'node:path'
import type { Sql } from 'postgres'
import { type MetricsRecord, metricsRowFromRecord } from '../core/rows.ts'
import { crashPoint } from '../crash-points.ts'
import { fileStamp, MetricsFile, metricsFileName } from './parquet.ts'

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

  constructor(
    private readonly sql: Sql,
    private readonly options: OutboxOptions,
  ) {}

  /**
   * Writes files while enough rows wait (or, with `everything`, until none is left), first
   * finishing claims that a crashed drain left behind. Returns the files written.
   */
  async drain(now: number, everything = false): Promise<string[]> {
    this.lastDrainAt ??= now
    if (
      !everything &&
      this.rowsSinceDrain < this.options.rowsPerFile &&
      now - this.lastDrainAt < this.options.maxWaitMs
    ) {
      return []
    }
    this.rowsSinceDrain = 0
    this.lastDrainAt = now
    const written: string[] = []
    // At the end of a run, take over every claim: finishing one twice writes the same file twice.
    for (const name of await this.abandonedClaims(everything ? 0 : 30)) {
      const path = await this.writeClaim(name)
      if (path !== null) written.push(path)
    }
    for (;;) {
      const name = await this.claim(now, everything)
      if (name === null) break
      const path = await this.writeClaim(name)
      if (path !== null) written.push(path)
    }
    this.files.push(...written)
    return written
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
      const [waiting] = await tx<{ rows: number; oldest: Date | null }[]>`
        SELECT count(*)::int AS rows, min(created_at) AS oldest FROM
          (SELECT created_at FROM analytics.metrics_outbox WHERE file IS NULL ORDER BY id LIMIT ${this.options.rowsPerFile}) AS w`
      if (!waiting || waiting.rows === 0) return null
      const ripe =
        everything ||
        waiting.rows >= this.options.rowsPerFile ||
        (waiting.oldest !== null && now - waiting.oldest.getTime() >= this.options.maxWaitMs)
      if (!ripe) return null
      const [first] = await tx<{ id: number }[]>`
        SELECT id FROM analytics.metrics_outbox WHERE file IS NULL ORDER BY id LIMIT 1`
      const name = metricsFileName(fileStamp(now), `${this.options.instance}_${first?.id}`)
      await tx`
        UPDATE analytics.metrics_outbox SET file = ${name}, claimed_at = now()
        WHERE id IN (SELECT id FROM analytics.metrics_outbox WHERE file IS NULL ORDER BY id LIMIT ${this.options.rowsPerFile})`
      return name
    })
  }

  /** Writes a claimed file and releases its rows; null when another instance already released them. */
  private async writeClaim(name: string): Promise<string | null> {
    const rows = await this.sql<{ row: MetricsRecord }[]>`
      SELECT row FROM analytics.metrics_outbox WHERE file = ${name} ORDER BY id`
    if (rows.length === 0) return null
    const path = join(this.options.dataDir, name)
    const file = new MetricsFile(path)
    file.writeRowGroup(rows.map((r) => metricsRowFromRecord(r.row)))
    file.finish()
    crashPoint('parquet-renamed')
    this.rowsWritten += rows.length
    await this.sql`DELETE FROM analytics.metrics_outbox WHERE file = ${name}`
    return path
  }
}
