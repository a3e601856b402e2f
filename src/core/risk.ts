// SPEC §5 (version 2): the probability of running out within the lead time, given the stock on
// hand, the open orders and when they can be expected to arrive, and the item's demand model; and
// the reorder point and order-up-to level that keep that probability at 1 − SERVICE_LEVEL.
//
// The risk is the weighted mean, over the ways the replenishment may arrive (receipts.ts: the open
// orders under the item's delivery record, its unannounced receipts' rhythm, its reorder rule), of
// the chance that the demand empties the stock before or between those receipts (passage.ts).
//
// The risk of the books showing 0 is then scaled down for an item whose books may be stuck above
// the shelf: the longer since they were last checked, the likelier (a prior of half a unit missing
// a month), more so for units its counts found missing before or restocks that found it stalled;
// and two more ways to 0 are added: a count finding the shelf empty, for an item whose counts have
// found it so while the books showed half of today's stock or more (stalls.ts revealRisk), and a
// one-off loss of the whole stock, likelier the fewer units there are (suddenLossRisk).
import type { ResolvedConfig } from './config.ts'
import { booksModel, type DemandModel, demandModel, meanBetween, meanOnDay, varianceOver } from './demand.ts'
import { demandAtLeast, levelForTail } from './negbin.ts'
import { announcesOrders, type Order, onOrder, openQuantity, UNPLANNED_FIELDS } from './orders.ts'
import { inHorizon, passageOf, type Receipt, STOCK_DUST, topUpPassage } from './passage.ts'
import {
  ordersWithin,
  receiptScenarios,
  receiptShare,
  receiptTriggers,
  replenishedUnannounced,
  type Scenario,
} from './receipts.ts'
import {
  countFindings,
  packLeftover,
  packSize,
  RESTOCK_FIELDS,
  restockFindings,
  revealRisk,
  stuckBooksScale,
} from './stalls.ts'
import type { ItemState } from './state.ts'

export const RISK_LEVELS = ['unknown', 'low', 'medium', 'high', 'critical'] as const
export type RiskLevel = (typeof RISK_LEVELS)[number]

/** A day's chance that a one-off event takes a stock of one unit; of I units, this over I (suddenLossRisk). */
export const SUDDEN_LOSS = 0.006

/** A risk below this is as good as none: its receipts are not worked out. */
const NEGLIGIBLE_RISK = 1e-9

/** expected_stockout_date looks this far ahead (SPEC §5). */
const STOCKOUT_DATE_DAYS = 365

export interface RiskAssessment {
  leadTimeDays: number
  expectedDemandLeadTime: number
  safetyStock: number
  reorderPoint: number
  stockoutRisk: number | null
  riskLevel: RiskLevel
  daysOfCover: number | null
  reorderQuantity: number | null
  onOrder: number
  inventoryPosition: number | null
  /** Day number, or null. */
  expectedStockoutDate: number | null
  /** λ of the demand model, units a day. */
  demandRate: number
  /** The share of what sells that comes back as returns, net of write-offs (1 − the kept share of demand.ts; negative when more is written off). */
  returnedShare: number
}

/**
 * What the reason tells a planner about how the item is replenished and how far its books can be
 * trusted (alerts.ts riskReason): read from the same state as the risk, but worked out only for a
 * reason, not for every row.
 */
export interface RiskNotes {
  /**
   * For an item replenished unannounced (replenishedUnannounced: it has never announced an order, or
   * most of its recent receipts came without one): the stock level its unannounced restocks have come at on average (the prior's when
   * it has no record yet), how many it has on record, and whether it has announced orders before.
   */
  unannounced: {
    ordersSeen: boolean
    level: number
    receipts: number
    emptyShelf: { receipts: number; daysOut: number } | null
  } | null
  /** Of the item's noted restocks (at most 8), those that found its books stalled; null when none did. */
  stalls: { stalled: number; restocks: number } | null
  /** For an item sold only in packs (stalls.ts packLeftover): the pack size and the units on the books no sale can take; null otherwise. */
  packs: { size: number; leftover: number } | null
  /** Units the item's noted counts (at most 8) found missing from the books, and the days they covered; null when none. */
  shrink: { missing: number; days: number } | null
  /**
   * For an item that announces its orders, with none due within the horizon: its record of orders
   * received (how many, the mean position they were placed at, the mean days to their first receipt),
   * which the risk expects it to follow; null otherwise.
   */
  reorders: { orders: number; level: number; days: number } | null
}

/** The item's demand model, with the share of a receipt day's demand that comes before the delivery (receipts.ts). */
export function itemDemand(state: ItemState, asOfDay: number): DemandModel {
  const model = demandModel(state, asOfDay)
  model.receiptShare = receiptShare(state, asOfDay)
  return model
}

export function leadTimeOf(state: ItemState, config: ResolvedConfig): number {
  return state.leadTimeOverride ?? config.leadTimeDays
}

/** Everything of SPEC §5 for the item as of `asOfDay` (its D, or a later day for a carried-forward close). */
export function assessRisk(
  state: ItemState,
  config: ResolvedConfig,
  asOfDay = state.asOfDay,
): RiskAssessment {
  const model = itemDemand(state, asOfDay)
  // The risk and the levels that keep it low read what the books do: demand less the returns, plus the write-offs.
  const books = booksModel(model)
  const leadTimeDays = leadTimeOf(state, config)
  const horizon = Math.ceil(leadTimeDays)
  const cycle = Math.ceil(leadTimeDays + config.reviewPeriodDays)
  const tail = 1 - config.serviceLevel
  const leadTimeDepletion = meanBetween(books, 0, horizon)
  const cycleDepletion = meanBetween(books, 0, cycle)
  const reorderPoint = levelForTail(tail, leadTimeDepletion, varianceOver(books, leadTimeDepletion, horizon))
  const orderUpTo = levelForTail(tail, cycleDepletion, varianceOver(books, cycleDepletion, cycle))
  const onHand = state.onHand
  const onOrderUnits = onOrder(state.orders)
  const position = onHand === null ? null : onHand + onOrderUnits
  const leftover = packLeftover(state, onHand ?? 0)
  const stockoutRisk = riskWithModel(state, books, model, horizon, cycle, asOfDay, 0, leftover)
  return {
    leadTimeDays,
    // The same figure when nothing comes back (booksModel then returns the model itself).
    expectedDemandLeadTime: books === model ? leadTimeDepletion : meanBetween(model, 0, horizon),
    safetyStock: orderUpTo - cycleDepletion,
    reorderPoint,
    stockoutRisk,
    riskLevel: riskLevel(stockoutRisk),
    // The rate's prior keeps it above 0: cover is always finite.
    daysOfCover: onHand === null ? null : onHand <= 0 ? 0 : onHand / model.rate,
    reorderQuantity:
      position === null
        ? null
        : position <= reorderPoint
          ? // The 1e-9 keeps floating-point dust (e.g. 12.000000000000002) from ordering one unit more.
            Math.max(0, Math.ceil(orderUpTo - position - 1e-9))
          : 0,
    onOrder: onOrderUnits,
    inventoryPosition: position,
    expectedStockoutDate: onHand === null ? null : expectedStockoutDay(state.orders, model, onHand, asOfDay),
    demandRate: model.rate,
    returnedShare: 1 - model.kept,
  }
}

/** The item's RiskNotes as of `asOfDay`, for the sentence that explains its risk. */
export function riskNotes(state: ItemState, config: ResolvedConfig, asOfDay = state.asOfDay): RiskNotes {
  const horizon = Math.ceil(leadTimeOf(state, config))
  const leftover = packLeftover(state, state.onHand ?? 0)
  const announces = !replenishedUnannounced(state)
  return {
    unannounced: announces
      ? null
      : unannouncedSummary(state.unplanned, booksModel(demandModel(state, asOfDay)), announcesOrders(state)),
    stalls: stallSummary(state.restocks),
    packs: leftover > 0 ? { size: packSize(state), leftover } : null,
    shrink: shrinkSummary(state.counts),
    reorders:
      announces && ordersWithin(state.orders, asOfDay + horizon).length === 0
        ? reorderSummary(state.reorders)
        : null,
  }
}

/**
 * stockout_risk alone: what the alerts need after every event. With `unlessBelow`, an upper bound
 * of it may be returned instead when that bound is already below `unlessBelow` (the alerts only
 * compare it with a threshold, and most items are far from theirs).
 */
export function stockoutRisk(
  state: ItemState,
  config: ResolvedConfig,
  asOfDay = state.asOfDay,
  unlessBelow = 0,
): number | null {
  if (state.onHand === null) return null
  if (state.onHand <= 0) return 1
  const leadTimeDays = leadTimeOf(state, config)
  const cycle = Math.ceil(leadTimeDays + config.reviewPeriodDays)
  const model = itemDemand(state, asOfDay)
  return riskWithModel(state, booksModel(model), model, Math.ceil(leadTimeDays), cycle, asOfDay, unlessBelow)
}

function riskWithModel(
  state: ItemState,
  /** What the books do (booksModel): what the stock must outlast. */
  books: DemandModel,
  /** The sales alone (the demand model before booksModel): what a silence in the sales is weighed by. */
  sales: DemandModel,
  horizon: number,
  cycleDays: number,
  asOfDay: number,
  unlessBelow = 0,
  packLeftoverUnits?: number,
): number | null {
  const onHand = state.onHand
  if (onHand === null) return null
  if (onHand <= 0) return 1
  // A count that finds the shelf empty takes the books to 0 whatever the demand, and so does a
  // one-off loss of the whole stock: ways there besides the demand model. With them, the bound below
  // which the shelf's risk may be given as a bound moves down to match.
  const revealed = revealRisk(state.counts, onHand, horizon)
  const sudden = suddenLossRisk(onHand, horizon)
  const elsewhere = 1 - (1 - revealed) * (1 - sudden)
  const belowFirst = Math.max(0, (unlessBelow - elsewhere) / (1 - elsewhere))
  const shelf = shelfRisk(state, books, onHand, horizon, cycleDays, asOfDay, belowFirst)
  const risk = shelf === 0 ? shelf : shelf * stuckBooksScale(state, asOfDay, packLeftoverUnits, sales)
  return 1 - (1 - risk) * (1 - elsewhere)
}

/**
 * P(something the daily sales do not show takes the whole stock of `onHand` units at once within
 * `horizon` days): a customer or a job taking far more than a day's usual, a breakage or theft
 * found, units that were never there. Such events come as a compound Poisson demand's rare large
 * orders do, larger ones rarer: the chance of one taking at least I units falls as 1/I, SUDDEN_LOSS
 * a day for a single unit. Scored with the flat-hazard and item-history alternatives in the README.
 */
export function suddenLossRisk(onHand: number, horizon: number): number {
  return 1 - Math.exp((-SUDDEN_LOSS * horizon) / onHand)
}

/** The risk of riskWithModel before stalls: the demand emptying the stock before the receipts refill it. */
function shelfRisk(
  state: ItemState,
  model: DemandModel,
  onHand: number,
  horizon: number,
  cycleDays: number,
  asOfDay: number,
  unlessBelow: number,
): number {
  const total = meanBetween(model, 0, horizon)
  const variance = varianceOver(model, total, horizon)
  // Cantelli's inequality bounds the risk with nothing coming, which bounds the risk.
  if (onHand > total && variance / (variance + (onHand - total) ** 2) < unlessBelow)
    return variance / (variance + (onHand - total) ** 2)
  const nothingComing = demandAtLeast(onHand, total, variance)
  // Receipts only lower the risk: a negligible one is given as it is, an upper bound off by less
  // than NEGLIGIBLE_RISK, without working out the receipts (a fifth of the items, most of the time).
  if (nothingComing < Math.max(unlessBelow, NEGLIGIBLE_RISK)) return nothingComing
  const scenarios = receiptScenarios(state, model, asOfDay, horizon, cycleDays)
  if (scenarios.length === 0) return nothingComing
  let risk = 0
  let weights = 0
  // A scenario with nothing arriving within the horizon is the nothing-coming risk itself.
  // (An array by day, not a Map: one is made for every risk that works out its receipts.)
  const beforeFirstReceipt: number[] = []
  beforeFirstReceipt[horizon] = nothingComing
  // Scenarios often bring the same receipts within the horizon (two latenesses both past it, say).
  const seen: Receipt[][] = []
  const seenTopUp: boolean[] = []
  const passages: number[] = []
  for (let i = 0; i < scenarios.length; i++) {
    const { weight, receipts, topUp } = scenarios[i] as Scenario
    const within = inHorizon(receipts, horizon)
    let j = 0
    while (j < seen.length && !(sameReceipts(seen[j] as Receipt[], within) && seenTopUp[j] === !!topUp)) j++
    if (j === seen.length) {
      seen.push(within)
      seenTopUp.push(!!topUp)
      const passage = topUp
        ? topUpPassage(model, onHand, within, horizon)
        : passageOf(model, onHand, within, horizon, beforeFirstReceipt)
      passages.push(Math.min(nothingComing, passage))
    }
    risk += weight * (passages[j] as number)
    weights += weight
  }
  return risk / weights
}

function sameReceipts(a: readonly Receipt[], b: readonly Receipt[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Receipt
    const y = b[i] as Receipt
    if (x.day !== y.day || x.units !== y.units || x.since !== y.since || x.trigger !== y.trigger) return false
  }
  return true
}

function shrinkSummary(counts: readonly number[] | null): RiskNotes['shrink'] {
  if (counts === null) return null
  const { missing, days } = countFindings(counts)
  return missing > 0 ? { missing, days } : null
}

function stallSummary(restocks: readonly number[] | null): RiskNotes['stalls'] {
  if (restocks === null) return null
  const { stalled } = restockFindings(restocks)
  return stalled === 0 ? null : { stalled, restocks: restocks.length / RESTOCK_FIELDS }
}

function reorderSummary(reorders: readonly number[] | null): RiskNotes['reorders'] {
  if (reorders === null) return null
  const orders = reorders.length / 3
  let level = 0
  let days = 0
  for (let i = 0; i < reorders.length; i += 3) {
    level += reorders[i] as number
    days += reorders[i + 1] as number
  }
  return { orders, level: level / orders, days: days / orders }
}

function unannouncedSummary(
  unplanned: readonly number[] | null,
  model: DemandModel,
  ordersSeen: boolean,
): RiskNotes['unannounced'] {
  const record = unplanned ?? []
  const triggers = receiptTriggers(record, model)
  let level = 0
  let empty = 0
  let daysOut = 0
  for (let i = 0; i < triggers.length; i += 2) {
    level += triggers[i] as number
    if ((triggers[i] as number) > 0) continue
    empty++
    daysOut += triggers[i + 1] as number
  }
  return {
    ordersSeen,
    level: level / (triggers.length / 2),
    receipts: record.length / UNPLANNED_FIELDS,
    emptyShelf: empty === 0 ? null : { receipts: empty, daysOut: daysOut / empty },
  }
}

/**
 * SPEC §5 expected_stockout_date: the first day after D on which on-hand − the cumulative mean demand
 * + the receipts expected by then is ≤ 0, within 365 days.
 */
function expectedStockoutDay(
  orders: readonly Order[] | null,
  model: DemandModel,
  onHand: number,
  asOfDay: number,
): number | null {
  const coming = ordersWithin(orders, asOfDay + STOCKOUT_DATE_DAYS)
  const week = meanBetween(model, 0, 7)
  let stock = onHand
  // Floating-point dust: a stock that should be exactly 0 is left at ~1e-16 of what was added up
  // (the on-hand and the receipts), and must not push the day on.
  let dust = STOCK_DUST * Math.max(1, onHand)
  let next = 0
  for (let k = 1; k <= STOCKOUT_DATE_DAYS; k++) {
    // A week with no receipt that cannot empty the stock is one step: the answer is the same day,
    // found without a day-by-day walk through months of cover.
    while (
      k + 6 <= STOCKOUT_DATE_DAYS &&
      stock - week > dust &&
      (next === coming.length || (coming[next] as Order).expectedDay > asOfDay + k + 6)
    ) {
      stock -= week
      k += 7
    }
    if (k > STOCKOUT_DATE_DAYS) break
    while (next < coming.length && (coming[next] as Order).expectedDay <= asOfDay + k) {
      const units = openQuantity(coming[next++] as Order)
      stock += units
      dust += STOCK_DUST * units
    }
    stock -= meanOnDay(model, k)
    if (stock <= dust) return asOfDay + k
  }
  return null
}

export function riskLevel(risk: number | null): RiskLevel {
  if (risk === null) return 'unknown'
  if (risk >= 0.8) return 'critical'
  if (risk >= 0.5) return 'high'
  if (risk >= 0.2) return 'medium'
  return 'low'
}

/** The open orders expected by the end of the horizon, as the alerts list them. */
export function ordersInHorizon(state: ItemState, config: ResolvedConfig): Order[] {
  return ordersWithin(state.orders, state.asOfDay + Math.ceil(leadTimeOf(state, config)))
}
