// Step 3½ of the risk (README): stock on the books that stops selling. What is scored is the stock
// on the books reaching 0, and books drift from the shelf: stolen or damaged units stay on them until
// a count (phantom stock), and the last units may not sell. Each restock notes, before its units are
// added, what it found: the item out of stock since the restock before, or stalled (a silence that
// what it had sold before made unlikely), or neither. An item whose restocks have found it
// stalled may stall on the books again: its risk is scaled by 1 − stalledShare.
import { type DemandModel, modelOfDays, SALES_WINDOW_DAYS, varianceOver } from './demand.ts'
import { demandAtLeast } from './negbin.ts'
import type { ItemState } from './state.ts'

/** Restock days remembered (ItemState.restocks). */
export const RESTOCK_RECORD = 8
/** A silence with at most this chance under the item's demand model is a stall. */
export const STALL_CHANCE = 0.05
/** Pseudo-restocks that found the item out of stock: an item's first stall is not yet a habit. */
export const STALL_PRIOR_OUTS = 2

const FOUND_NOTHING = 0
const FOUND_OUT = 1
const FOUND_STALLED = 2

/**
 * Notes what a restock on `day` found (before its units are added). One a day; a restock dated before
 * the item's latest day, or while the stock is unknown, notes nothing.
 */
export function noteRestock(state: ItemState, day: number): void {
  const record = state.restocks
  const previous = record === null ? Number.NEGATIVE_INFINITY : (record[record.length - 2] as number)
  if (state.onHand === null || day < state.asOfDay || day <= previous) return
  const entry = [day, findingOf(state, day, previous)]
  if (record === null) state.restocks = entry
  else {
    record.push(...entry)
    if (record.length > 2 * RESTOCK_RECORD) record.splice(0, 2)
  }
}

function findingOf(state: ItemState, day: number, previous: number): number {
  const out = state.outDays
  const lastOut = out === null ? Number.NEGATIVE_INFINITY : (out[out.length - 1] as number)
  if ((state.onHand as number) <= 0 || lastOut > previous) return FOUND_OUT
  // The silence: the whole days since the last sale or day out of stock (a day out of stock is no
  // silence), judged by what the item sold before it, within the 60 days the state holds.
  const sales = state.sales
  const before = Math.max(sales === null ? state.firstDay - 1 : (sales[sales.length - 2] as number), lastOut)
  const silence = day - before - 1
  if (silence <= 0) return FOUND_NOTHING
  const model = modelOfDays(state, before, Math.max(state.firstDay, day - SALES_WINDOW_DAYS + 1))
  return model !== null && silenceChance(model, silence) <= STALL_CHANCE ? FOUND_STALLED : FOUND_NOTHING
}

/** P(no sale at all over `days` days) under the demand model. */
function silenceChance(model: DemandModel, days: number): number {
  const mean = model.rate * days
  return 1 - demandAtLeast(1, mean, varianceOver(model, mean, days))
}

/** How many of the noted restocks found the item stalled, and how many out of stock. */
export function restockFindings(restocks: readonly number[]): { stalled: number; out: number } {
  let stalled = 0
  let out = 0
  for (let i = 1; i < restocks.length; i += 2) {
    if (restocks[i] === FOUND_STALLED) stalled++
    else if (restocks[i] === FOUND_OUT) out++
  }
  return { stalled, out }
}

/** stalled / (stalled + out + STALL_PRIOR_OUTS): the risk is scaled by 1 − it. */
export function stalledShare(restocks: readonly number[]): number {
  const { stalled, out } = restockFindings(restocks)
  return stalled / (stalled + out + STALL_PRIOR_OUTS)
}
