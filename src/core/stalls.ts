// Step 3½ of the risk (README): stock on the books that is not on the shelf. What is scored is the
// stock on the books reaching 0, and books drift from the shelf: stolen or damaged units stay on
// them until a count (phantom stock), and the last units may not sell. Then the shelf empties while
// the books show stock, and the books reach 0 only if a count finds it.
//
// Two records say how likely that is for the item. Each restock notes, before its units are added,
// what it found: the item out of stock since the restock before, or stalled (a silence that what it
// had sold before made unlikely), or neither. Each count (a stock_count, or an event carrying an
// on_hand that differs from the books: state.ts) notes how many units it found missing from the
// books (or over) and over how many days, and whether it found the shelf empty while the books
// showed stock. Before they show anything, a prior stands in: half a unit missing a month (most
// items' books are off by some units at any time). A silence still under way that the item's demand
// makes unlikely says the same of now; once a count or a restock shows the stock is there, a silence
// that goes on says the line may have stopped selling. The risk is scaled by stuckBooksScale. The counts that
// found the shelf empty with much on the books say more: such a count is a way to 0 of its own,
// whatever the demand (revealRisk).
// An item sold only in packs (each day's sales a multiple of one size above 1) is stuck for certain
// when its stock is not a whole number of packs: sales stop at the leftover (packLeftover).
import { type DemandModel, modelOfDays, SALES_WINDOW_DAYS, varianceOver } from './demand.ts'
import { demandAtLeast } from './negbin.ts'
import type { ItemState } from './state.ts'

/** Restock days remembered (ItemState.restocks). */
export const RESTOCK_RECORD = 8
/**
 * Numbers a restock day takes in ItemState.restocks: its day, what the restock found, and the units
 * sold that day before it (receipts.ts receiptShare; −1 in a record stored before it was kept).
 */
export const RESTOCK_FIELDS = 3
/** Count days remembered (ItemState.counts). */
export const COUNT_RECORD = 8
/**
 * The shrink rate's prior: SHRINK_PRIOR_UNITS units missing over SHRINK_PRIOR_DAYS days, added to
 * what the item's counts found. Books drift from the shelf before any count has shown it (record
 * inaccuracy is the rule in retail, not the exception), and one finding is not yet a rate.
 */
export const SHRINK_PRIOR_UNITS = 0.5
export const SHRINK_PRIOR_DAYS = 30
/** Days with sales, each a multiple of one pack size above 1, that make an item one sold only in packs. */
export const PACK_DAYS = 5
/**
 * The chance that an item whose sales went silent is still selling, before the silence is weighed:
 * one in ten such items has stopped (a line delisted, a season over, a product superseded).
 */
export const STILL_SELLING_PRIOR = 0.9
/** A silence with at most this chance under the item's demand model is a stall. */
export const STALL_CHANCE = 0.05
/** Days of counting added to those the noted counts covered, for the rate of reveals (revealRisk). */
export const REVEAL_PRIOR_DAYS = 30
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
  const previous =
    record === null ? Number.NEGATIVE_INFINITY : (record[record.length - RESTOCK_FIELDS] as number)
  if (state.onHand === null || day < state.asOfDay || day <= previous) return
  const entry = [day, findingOf(state, day, previous), soldOn(state, day)]
  if (record === null) state.restocks = entry
  else {
    record.push(...entry)
    if (record.length > RESTOCK_FIELDS * RESTOCK_RECORD) record.splice(0, RESTOCK_FIELDS)
  }
}

/** Units sold on `day` so far (0 for a day the state no longer holds). */
export function soldOn(state: ItemState, day: number): number {
  const sales = state.sales
  if (sales === null) return 0
  for (let i = sales.length - 2; i >= 0 && (sales[i] as number) >= day; i -= 2)
    if (sales[i] === day) return sales[i + 1] as number
  return 0
}

/** A restock record stored as pairs (day, finding), before the units sold ahead of each were kept: −1, unknown. */
export function restockTriples(pairs: readonly number[]): number[] {
  const triples: number[] = []
  for (let i = 0; i + 1 < pairs.length; i += 2) triples.push(pairs[i] as number, pairs[i + 1] as number, -1)
  return triples
}

function findingOf(state: ItemState, day: number, previous: number): number {
  const out = state.outDays
  const lastOut = out === null ? Number.NEGATIVE_INFINITY : (out[out.length - 1] as number)
  if ((state.onHand as number) <= 0 || lastOut > previous) return FOUND_OUT
  // The silence: the whole days since the last sale or day out of stock (a day out of stock is no
  // silence), judged by what the item sold before it, within the 120 days the state holds.
  const before = lastSaleOrOut(state)
  const silence = day - before - 1
  if (silence <= 0) return FOUND_NOTHING
  const chance = chanceOfSilenceAfter(state, before, day, silence)
  return chance !== null && chance <= STALL_CHANCE ? FOUND_STALLED : FOUND_NOTHING
}

/**
 * P(no sale over `days` days) under what the item sold up to `last` (its sales' model as of that day,
 * from the days of the 120-day window of `day`); null when that window holds no day up to `last`.
 */
function chanceOfSilenceAfter(state: ItemState, last: number, day: number, days: number): number | null {
  const model = modelOfDays(state, last, Math.max(state.firstDay, day - SALES_WINDOW_DAYS + 1))
  return model === null ? null : silenceChance(model, days)
}

/** The item's last day with a sale or out of stock, of the 120 days it holds (its first day − 1 before any). */
function lastSaleOrOut(state: ItemState): number {
  const sales = state.sales
  const out = state.outDays
  return Math.max(
    sales === null ? state.firstDay - 1 : (sales[sales.length - 2] as number),
    out === null ? Number.NEGATIVE_INFINITY : (out[out.length - 1] as number),
  )
}

/**
 * The whole days before `asOfDay` without a sale since the last sale, day out of stock, restock or
 * count (the as-of day itself may still be under way).
 */
function silentDays(state: ItemState, asOfDay: number, lastCount: number): number {
  const restocks = state.restocks
  const since = Math.max(
    lastSaleOrOut(state),
    restocks === null ? Number.NEGATIVE_INFINITY : (restocks[restocks.length - RESTOCK_FIELDS] as number),
    lastCount,
  )
  return asOfDay - since - 1
}

/** P(no sale at all over `days` days) under the demand model. */
function silenceChance(model: DemandModel, days: number): number {
  const mean = model.rate * days
  return 1 - demandAtLeast(1, mean, varianceOver(model, mean, days))
}

/**
 * Notes a count on `day`: `book`, what the books said before it, `counted`, the level it set; the
 * units missing are negative when it found more. One entry a day (a later count of the day, or a
 * late one, adds to the latest); the days it covers run from the count before (or the item's first day).
 */
export function noteCount(state: ItemState, day: number, book: number, counted: number): void {
  const missing = book - counted
  const foundEmpty = book > 0 && counted <= 0 ? 1 : 0
  const record = state.counts
  if (record === null) {
    state.counts = [day, Math.max(0, day - state.firstDay), missing, foundEmpty]
    return
  }
  const last = record.length - 4
  if (day <= (record[last] as number)) {
    record[last + 2] = (record[last + 2] as number) + missing
    record[last + 3] = Math.max(record[last + 3] as number, foundEmpty)
    return
  }
  record.push(day, day - (record[last] as number), missing, foundEmpty)
  if (record.length > 4 * COUNT_RECORD) record.splice(0, 4)
}

/**
 * What the risk of the books reaching 0 is multiplied by: q + (1 − q)·c.
 *   q  the chance the books are not stuck above the shelf: no unit gone missing since the books were
 *      last checked, e^(−r·τ) (units go missing one by one at the shrink rate r = (the units the
 *      item's counts found missing, net, + SHRINK_PRIOR_UNITS) / (the days they covered +
 *      SHRINK_PRIOR_DAYS), τ days since the last count, or since the item's first day before any),
 *      and no habit of stalling, 1 − stalls / (stalls + outs + STALL_PRIOR_OUTS) of its restocks;
 *      then, when a silence still under way is a stall by the restocks' test (P ≤ STALL_CHANCE under
 *      `model`, the item's demand), q·P / (q·P + 1 − q): a stuck shelf is silent for certain;
 *   c  the chance stuck books reach 0 all the same, a count finding the shelf empty, by what ended
 *      the item's stuck spells before: (counts that found it empty + 1) / (those + stalls + 2);
 * times, with `model`, the chance the line still sells at all (stillSelling).
 * Stock that an item sold only in packs cannot sell (packLeftover) is stuck for certain: c alone;
 * `leftover` is that stock when the caller has worked it out already.
 */
export function stuckBooksScale(
  state: ItemState,
  asOfDay: number,
  leftover = packLeftover(state, state.onHand ?? 0),
  model?: DemandModel,
): number {
  const { missing, days, foundEmpty, lastDay } = countFindings(state.counts ?? NONE)
  const since = Math.max(0, asOfDay - (Number.isFinite(lastDay) ? lastDay : state.firstDay))
  const { stalled, out } = restockFindings(state.restocks ?? NONE)
  const revealed = (foundEmpty + 1) / (foundEmpty + stalled + 2)
  // Stock that sales cannot take to 0 is stuck for certain: only a count (or a write-off) clears it.
  if (leftover > 0) return revealed
  const shrinkRate = (missing + SHRINK_PRIOR_UNITS) / (days + SHRINK_PRIOR_DAYS)
  const nothingMissing = Math.exp(-shrinkRate * since)
  let notStuck = nothingMissing * (1 - stalled / (stalled + out + STALL_PRIOR_OUTS))
  // A silence still under way that the item's demand makes unlikely is a stall in progress: the
  // books' last units are likelier not on the shelf (Bayes: a stuck shelf is silent for certain).
  const silence = silentDays(state, asOfDay, Number.isFinite(lastDay) ? lastDay : Number.NEGATIVE_INFINITY)
  if (silence > 0 && model !== undefined) {
    const chance = silenceChance(model, silence)
    if (chance <= STALL_CHANCE) notStuck = (notStuck * chance) / (notStuck * chance + 1 - notStuck)
  }
  const scale = notStuck + (1 - notStuck) * revealed
  return model === undefined ? scale : scale * stillSelling(state, asOfDay, silence)
}

/**
 * The chance the item still sells at all, when a count or a restock has cut its stall's silence short
 * (the stock is there, yet nothing sells): the sales' own silence, since the last sale or day out of
 * stock, weighed by Bayes: a stopped line is silent for certain, a live one with chance P, P(no sale
 * in those days) under what the item sold before the silence (the restocks' test). Not today's
 * model: the silent days fill its window and lower the rate the silence is judged by, so a textbook
 * silent since its term's rush, one unit on the books, read a live line's risk for weeks. 1 when the
 * stall's silence is the same one (the stall has weighed it), and when the window holds no day before
 * the silence (a line that never sold has not stopped).
 */
function stillSelling(state: ItemState, asOfDay: number, stallSilence: number): number {
  const last = lastSaleOrOut(state)
  const quiet = asOfDay - last - 1
  if (quiet <= Math.max(0, stallSilence)) return 1
  const chance = chanceOfSilenceAfter(state, last, asOfDay, quiet)
  if (chance === null) return 1
  return (STILL_SELLING_PRIOR * chance) / (STILL_SELLING_PRIOR * chance + 1 - STILL_SELLING_PRIOR)
}

/**
 * P(a count finds the shelf empty within the next `horizon` days while the books still show stock),
 * a way to 0 that no demand explains: the books drift above the shelf (theft, damage, mis-scans)
 * until a count, a clerk's gap scan or a failed pick finds nothing there. Its precedents are the
 * noted counts that found the shelf empty while the books showed at least half of `onHand` (phantom
 * stock of that size has been this item's habit); they recur at their rate per day the counts
 * covered, REVEAL_PRIOR_DAYS added so that one reveal is not yet a habit: 1 − e^(−k·h / (days + 30)).
 * 0 for an item whose counts never found that.
 */
export function revealRisk(counts: readonly number[] | null, onHand: number, horizon: number): number {
  if (counts === null) return 0
  let reveals = 0
  let days = 0
  for (let i = 0; i < counts.length; i += 4) {
    days += counts[i + 1] as number
    if (counts[i + 3] === 1 && (counts[i + 2] as number) >= onHand / 2) reveals++
  }
  return reveals === 0 ? 0 : 1 - Math.exp((-reveals * horizon) / (days + REVEAL_PRIOR_DAYS))
}

/**
 * The pack size g of an item sold only in packs: on each of at least PACK_DAYS days of its 120 days'
 * sales (ItemState.sales) it sold a whole multiple of one size g > 1 (pairs of brake pads, sets of
 * four plugs, cases). 1 for any other item. Read from the days' totals, not kept per sale: one more
 * field on every item's state cost 64 bytes an item.
 */
export function packSize(state: ItemState): number {
  const sales = state.sales
  if (sales === null || sales.length < 2 * PACK_DAYS) return 1
  let step = 0
  for (let i = 1; i < sales.length; i += 2) {
    const units = sales[i] as number
    if (!Number.isInteger(units)) return 1
    step = greatestCommonDivisor(step, units)
    if (step === 1) return 1
  }
  return step
}

/**
 * The units of `onHand` that no sale can take: sales take the books of an item sold only in packs
 * down g at a time and stop at onHand mod g (customers do not buy part of a pack the shelf cannot
 * fill). 0 for any other item, or a stock that is a whole number of packs.
 */
export function packLeftover(state: ItemState, onHand: number): number {
  if (!(onHand > 0)) return 0
  const size = packSize(state)
  return size > 1 ? onHand % size : 0
}

function greatestCommonDivisor(a: number, b: number): number {
  // A temporary, not a destructuring swap: that built an array at every step (3 % of a replay).
  let x = a
  let y = b
  while (y > 0) {
    const rest = x % y
    x = y
    y = rest
  }
  return x
}

/**
 * What the noted counts found: the units missing net of those found over (at least 0: miscounts
 * either way cancel, shrink adds up), the days they covered, how many found the shelf empty, the
 * last one's day.
 */
export function countFindings(counts: readonly number[]): {
  missing: number
  days: number
  foundEmpty: number
  lastDay: number
} {
  let missing = 0
  let days = 0
  let foundEmpty = 0
  for (let i = 0; i < counts.length; i += 4) {
    days += counts[i + 1] as number
    missing += counts[i + 2] as number
    foundEmpty += counts[i + 3] as number
  }
  const lastDay = counts.length === 0 ? Number.POSITIVE_INFINITY : (counts[counts.length - 4] as number)
  return { missing: Math.max(0, missing), days, foundEmpty, lastDay }
}

const NONE: readonly number[] = []

/** How many of the noted restocks found the item stalled, and how many out of stock. */
export function restockFindings(restocks: readonly number[]): { stalled: number; out: number } {
  let stalled = 0
  let out = 0
  for (let i = 1; i < restocks.length; i += RESTOCK_FIELDS) {
    if (restocks[i] === FOUND_STALLED) stalled++
    else if (restocks[i] === FOUND_OUT) out++
  }
  return { stalled, out }
}
