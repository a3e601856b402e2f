// Commits in doubt: a commit that failed with its session lost (or its time limit run out) may have
// reached PostgreSQL's COMMIT anyway, and then what follows a commit (Redis, the alerts, the counts)
// was never done for it. The partition's stored offset, read at its next load, tells: the commit
// ending exactly there was stored. Kept per partition, only while the partitions stay assigned:
// after a rebalance another instance may have moved them on, and the stored offset no longer tells.
import type { MetricsRow } from '../core/rows.ts'
import type { PendingCommit } from './pending-commit.ts'

/** A commit reported failed that PostgreSQL may hold after all: what its follow-up needs. */
export interface Doubt {
  pending: PendingCommit
  /** The latest row of each item it wrote (for Redis). */
  rows: readonly MetricsRow[]
}

export class Doubts {
  private byPartition = new Map<number, Doubt[]>()

  record(partition: number, doubt: Doubt): void {
    this.byPartition.set(partition, [...(this.byPartition.get(partition) ?? []), doubt])
  }

  /** A commit of the partition went through: none of its doubts can land any more (offset check). */
  ruledOut(partition: number): void {
    this.byPartition.delete(partition)
  }

  /** A rebalance: the stored offsets no longer tell. */
  forgetAll(): void {
    this.byPartition = new Map()
  }

  get partitions(): number[] {
    return [...this.byPartition.keys()]
  }

  /**
   * What the stored offset (null: unknown) says: returns the commit stored after all (the one ending
   * there), if any. Those ending before it are settled another way (stored and followed by one that
   * was, or never stored) and dropped; those ending past it are kept: not stored, or not yet (a commit
   * the time limit gave up on may still land), until ruledOut.
   */
  settle(partition: number, storedOffset: number | null): Doubt | null {
    const doubts = this.byPartition.get(partition)
    if (doubts === undefined || storedOffset === null) return null
    const open = doubts.filter((doubt) => doubt.pending.nextOffset > storedOffset)
    if (open.length > 0) this.byPartition.set(partition, open)
    else this.byPartition.delete(partition)
    return doubts.find((doubt) => doubt.pending.nextOffset === storedOffset) ?? null
  }
}
