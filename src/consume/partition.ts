// One assigned partition: its own engine (its items are its own), the offset PostgreSQL holds, the
// commit under way and the batches processed since (the next commit), and a lane on which fetches
// and the commit timer take turns. A commit's content is serialised when it starts, so the next
// batches are processed while its transaction runs; commits follow one another in order.
import type { Engine } from '../core/engine.ts'
import { PendingCommit } from './pending-commit.ts'

export class PartitionWork {
  /** Offset stored in PostgreSQL when we loaded or last committed (null: none yet). */
  committed: number | null
  /** The offset PostgreSQL will hold once the commit under way succeeds (its batches are serialised). */
  committedTo: number | null
  /** The commit under way (the next one starts only after it succeeded): true once committed. */
  committing: Promise<boolean> | null = null
  pending: PendingCommit | null = null
  /** When the position was last committed to Kafka (for lag tools only). */
  kafkaCommittedAt = 0
  /** The commit timer of the pending batches, if one is set. */
  timer: ReturnType<typeof setTimeout> | null = null
  private lane: Promise<unknown> = Promise.resolve()

  constructor(
    readonly partition: number,
    readonly engine: Engine,
    committed: number | null,
    /** Where the partition's first batch starts when nothing is committed (its oldest offset). */
    private readonly start: number | null = committed,
  ) {
    this.committed = committed
    this.committedTo = committed
  }

  /** The offset the engine expects next: after the batches processed, else the last commit, else the start. */
  get position(): number | null {
    return this.pending?.nextOffset ?? this.committedTo ?? this.start
  }

  /** Runs `work` once what is queued on this partition is done; a failure does not block the lane. */
  run<T>(work: () => Promise<T>): Promise<T> {
    const run = this.lane.then(work)
    this.lane = run.catch(() => {})
    return run
  }

  /** The commit the next batch joins (a new one starts at the engine's position). */
  pendingFrom(firstOffset: number, now: number): PendingCommit {
    this.pending ??= new PendingCommit(this.committedTo ?? firstOffset, now)
    return this.pending
  }

  /**
   * Moves the position past offsets the partition no longer holds (the broker deleted them before
   * they were read): the next commit stores the new position, with or without batches.
   */
  skipTo(offset: number, now: number): void {
    this.pendingFrom(offset, now).nextOffset = offset
  }

  /**
   * Takes the pending batches for a commit: the offset PostgreSQL must hold for it (null: none
   * yet, the commit creates the partition's row) and the batches. Batches processed from now on
   * go to the next commit.
   */
  takePending(): { expectedOffset: number | null; pending: PendingCommit } | null {
    const pending = this.pending
    if (pending === null || pending.isEmpty) return null
    const expectedOffset = this.committedTo
    this.pending = null
    this.committedTo = pending.nextOffset
    return { expectedOffset, pending }
  }

  /** Whether the pending batches are due for their commit (COMMIT_INTERVAL_MS after the first). */
  due(now: number, intervalMs: number): boolean {
    return this.pending !== null && !this.pending.isEmpty && now - this.pending.startedAt >= intervalMs
  }

  /** Milliseconds until the pending batches are due (0: now). */
  dueIn(now: number, intervalMs: number): number {
    return this.pending === null ? 0 : Math.max(0, this.pending.startedAt + intervalMs - now)
  }

  clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }
}
