// The whole batches of one partition processed since its last PostgreSQL commit, gathered for the
// next one (COMMIT_INTERVAL_MS, SPEC §8). What a commit stores is what the batches would have stored
// one after the other: the latest row, state and day close of each item (and of each (item, day)),
// the daily deltas added up; the Parquet archive still gets every row of every batch, and the alert
// topic every message, in order.
import type { Message } from 'kafkajs'
import type { DayClose } from '../core/close.ts'
import type { Batch } from '../core/engine.ts'
import { ItemDays } from '../core/item-days.ts'
import { type DailyDelta, type MetricsRow, mergeDaily } from '../core/rows.ts'
import type { ItemState } from '../core/state.ts'
import { Tally } from '../core/tally.ts'
import type { OutgoingAlert } from '../sinks/kafka.ts'
import type { CommitContent } from '../sinks/postgres.ts'

export class PendingCommit {
  /** Every row of every batch, in order: the Parquet archive's. */
  readonly archive: MetricsRow[] = []
  /** In the order the events raised them. */
  readonly alerts: OutgoingAlert[] = []
  readonly deadLetters: Message[] = []
  /** Counted into the run's tally only once committed, so a retried batch is not counted twice. */
  readonly tally = new Tally()
  batches = 0
  /** The offset after the last message of the last batch: where the commit moves the partition to. */
  nextOffset: number
  /** The partition's end when its last batch was fetched (for the lag metric). */
  highWatermark = '0'
  private readonly latestRows = new Map<string, MetricsRow>()
  private readonly daily = new ItemDays<DailyDelta>()
  private readonly closes = new ItemDays<DayClose>()
  private readonly states = new Map<string, ItemState>()

  /** `startedAt`: when the first batch was added (the commit is due COMMIT_INTERVAL_MS after it). */
  constructor(
    readonly fromOffset: number,
    readonly startedAt: number,
  ) {
    this.nextOffset = fromOffset
  }

  /** Nothing to commit: no batch, and no offsets skipped (PartitionWork.skipTo). */
  get isEmpty(): boolean {
    return this.batches === 0 && this.nextOffset === this.fromOffset
  }

  /** Adds one processed batch: its messages ended just before `nextOffset`. */
  add(
    batch: Batch,
    alerts: readonly OutgoingAlert[],
    deadLetters: readonly Message[],
    tally: Tally,
    nextOffset: number,
  ): void {
    // A batch's rows and states are its changed items in the same order: the state's key is the
    // row's, and keying by it spares concatenating and hashing a new string per row.
    for (let i = 0; i < batch.rows.length; i++) {
      const row = batch.rows[i] as MetricsRow
      this.archive.push(row)
      this.latestRows.set((batch.states[i] as ItemState).key, row)
    }
    for (const delta of batch.daily) {
      const earlier = this.daily.get(delta.key, delta.day)
      this.daily.set(delta.key, earlier === undefined ? delta : mergeDaily(earlier, delta))
    }
    for (const close of batch.closes) this.closes.set(close.key, close)
    // The engine's own objects: a commit stores them as they stand when it is made, which is
    // after the last batch added (a partition's batches and commits take turns).
    for (const state of batch.states) this.states.set(state.key, state)
    this.alerts.push(...alerts)
    this.deadLetters.push(...deadLetters)
    this.tally.add(tally)
    this.batches++
    this.nextOffset = nextOffset
  }

  /** What the commit writes: each item, state and (item, day) once, with every row for the archive. */
  content(): CommitContent {
    return {
      rows: [...this.latestRows.values()],
      daily: this.daily.values(),
      closes: this.closes.values(),
      states: [...this.states.values()],
      archive: this.archive,
    }
  }
}
