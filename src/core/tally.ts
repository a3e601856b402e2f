// What happened to the records of a run: the counts every command reports.
import type { Outcome } from './engine.ts'
import type { RejectionCode } from './event.ts'

export class Tally {
  /** Records read (blank lines are not records). */
  read = 0
  /** Records that passed validation, duplicates included. */
  accepted = 0
  duplicates = 0
  rejected = 0
  readonly rejectedByCode: Partial<Record<RejectionCode, number>> = {}

  countOutcome(outcome: Outcome): void {
    this.read++
    this.accepted++
    if (outcome === 'duplicate') this.duplicates++
  }

  countRejection(code: RejectionCode): void {
    this.read++
    this.rejected++
    this.rejectedByCode[code] = (this.rejectedByCode[code] ?? 0) + 1
  }

  add(other: Tally): void {
    this.read += other.read
    this.accepted += other.accepted
    this.duplicates += other.duplicates
    this.rejected += other.rejected
    for (const [code, n] of Object.entries(other.rejectedByCode) as [RejectionCode, number][]) {
      this.rejectedByCode[code] = (this.rejectedByCode[code] ?? 0) + n
    }
  }

  toJSON() {
    return {
      read: this.read,
      accepted: this.accepted,
      rejected: this.rejected,
      duplicates: this.duplicates,
      rejected_by_code: this.rejectedByCode,
    }
  }
}
