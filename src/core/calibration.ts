// Each item calibrated by its own record: the risk's odds scaled by (Σy + A) / (Σp + A), where Σp
// adds up the risks the item was given at earlier day closes and Σy counts those followed by a
// stockout within the lead time. What the demand model cannot see of one item (fresh lines written
// off every week, a line past its season, a shelf culled now and then) shows in its own record of
// predictions and outcomes; the prior A keeps an item with a short record near the model.
//
// The record, ItemState.calibration: [Σp, Σy], then the close still waiting for its outcome, if any,
// as (close day, risk). A close is taken when the item's stream moves past its day with the stock
// known and above 0 (the closes the backtest scores) and no close waits; its risk is the one before
// this correction. Its outcome is known, and added to the sums, once its lead time has passed: at
// most one close a lead time (an item whose events skip days may settle one and take the next at
// one move, their lead times then sharing days; keeping them apart scored worse: README).

/** A: the closes' worth of evidence the model's own calibration counts for. */
export const CALIBRATION_PRIOR = 20

/** The factor the odds of the item's risk are scaled by (1 with no record yet). */
export function calibrationFactor(record: readonly number[] | null): number {
  if (record === null) return 1
  return ((record[1] as number) + CALIBRATION_PRIOR) / ((record[0] as number) + CALIBRATION_PRIOR)
}

/** A factor this far from 1 or farther is worth a planner's reading (risk.ts RiskNotes.record). */
const NOTED_CHANGE = 0.1

/** The record's sums when they move the odds by NOTED_CHANGE or more, else null. */
export function recordSummary(record: readonly number[] | null): { foretold: number; came: number } | null {
  if (Math.abs(calibrationFactor(record) - 1) < NOTED_CHANGE) return null
  const [foretold, came] = record as number[]
  return { foretold: foretold as number, came: came as number }
}

/** The risk with its odds scaled by `factor`. */
export function calibrated(risk: number, factor: number): number {
  if (factor === 1 || risk <= 0 || risk >= 1) return risk
  const odds = (factor * risk) / (1 - risk)
  return odds / (1 + odds)
}

/** The risk before the correction below which the corrected risk is below `threshold` (its inverse). */
export function uncalibratedBelow(threshold: number, factor: number): number {
  if (factor === 1 || threshold <= 0 || threshold >= 1) return threshold
  return threshold / ((1 - threshold) * factor + threshold)
}

/**
 * Settles the waiting close once its lead time of `horizon` days has passed by `day` (the day the
 * item's stream moves to), from the item's state at the close of its day `asOfDay`: a close of day
 * d is followed by a stockout when some day of d + 1 … d + horizon was out of stock, i.e. is in
 * `outDays` or falls after `asOfDay` with the stock still at or below 0.
 */
export function settleClose(
  record: number[],
  day: number,
  horizon: number,
  asOfDay: number,
  outDays: readonly number[] | null,
  outSinceAsOfDay: boolean,
): void {
  if (record.length === 2) return
  const closeDay = record[2] as number
  const last = closeDay + horizon
  if (last >= day) return
  record[0] = (record[0] as number) + (record[3] as number)
  if ((outSinceAsOfDay && last > asOfDay) || anyBetween(outDays, closeDay, last))
    record[1] = (record[1] as number) + 1
  record.length = 2
}

/** Drops the waiting close unsettled: its lead time grew beyond the out-of-stock days' memory. */
export function dropWaitingClose(record: number[]): void {
  record.length = 2
}

/** Whether a close can be taken: none waits. */
export function awaitsClose(record: readonly number[] | null): boolean {
  return record === null || record.length === 2
}

/** Adds the close of `day` with its risk (before the correction) to the record; returns the record. */
export function takeClose(record: number[] | null, day: number, risk: number): number[] {
  if (record === null) return [0, 0, day, risk]
  record.push(day, risk)
  return record
}

/** Whether the ascending `days` hold one in (after, last]. */
function anyBetween(days: readonly number[] | null, after: number, last: number): boolean {
  if (days === null) return false
  for (let i = days.length - 1; i >= 0; i--) {
    const day = days[i] as number
    if (day <= after) return false
    if (day <= last) return true
  }
  return false
}
