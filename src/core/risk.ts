// SPEC §5 (version 2): the probability of running out within the lead time, given the stock on
// hand, the open orders and when they can be expected to arrive, and the item's demand model; and
// the reorder point and order-up-to level that keep that probability at 1 − SERVICE_LEVEL.
//
// Running out before or between receipts (first passage): with receipts arriving on days a₁ < a₂ …
// the stock runs out when the demand of days D+1 … aⱼ − 1 reaches the stock plus the receipts
// before aⱼ, for some j, or the demand of the whole horizon reaches the stock plus every receipt.
// Demand only grows, so only those checkpoints matter. The chance of the union is built up one
// checkpoint at a time: P ← P + P(below the previous checkpoint's level there, at or above this
// one's here), summed exactly over the demand at the previous checkpoint (the segments taken as
// independent; with three or more checkpoints, a path that crosses two apart may be counted twice,
// so the result is kept at most the risk with nothing on order).
//
// When the receipts come: the item's own record of its last deliveries (days late, share of the
// units the first receipt brought) together with PRIOR_DELIVERIES, a few pseudo-deliveries that
// say "usually on time, sometimes days late, now and then short or lost" for items without a
// record. An order sent without a date (no expected_at, no lead_time_days: SPEC §3 puts it at the
// default lead time) is awaited by the item's usual days from order to first receipt instead, when
// that is sooner (orders.ts awaitedDay). Each remembered delivery is a scenario. What has not come
// yet can no longer come early: a scenario whose lateness every open order is already past is ruled
// out (the risk is conditioned on the orders not having arrived, the residual lead time); an order
// past it while another is not does not come in it: the record learns only from orders that came,
// so an order later than a scenario says is as likely one that never comes (bringing it tomorrow
// made late suppliers' risk too low). Items that never announce an order, or whose latest receipt
// came unannounced, get scenarios from their unannounced receipts instead (unannouncedScenarios;
// half of their weight on top-ups to a par level when the receipts leave the stock at one level:
// topUpPassage); items that announce them also from the orders they
// placed and received before (reorderScenarios: the next order may come within the horizon, beside
// the open ones or with none due; by the calendar, topping the position up to a level, when the
// record reads so: orderUpToPassage; else half at the mean rate, half placed as the demand draws the
// position down: triggeredPassage). The risk is the weighted mean over scenarios.
//
// The risk of the books showing 0 is then scaled down for an item whose books may be stuck above
// the shelf: the longer since they were last checked, the likelier (a prior of half a unit missing
// a month), more so for units its counts found missing before or restocks that found it stalled;
// and two more ways to 0 are added: a count finding the shelf empty, for an item whose counts have
// found it so while the books showed half of today's stock or more (stalls.ts revealRisk), and a
// one-off loss of the whole stock, likelier the fewer units there are (suddenLossRisk).
import type { ResolvedConfig } from './config.ts'
import { booksModel, type DemandModel, demandModel, meanBetween, meanOnDay, varianceOver } from './demand.ts'
import { DemandWalk, demandAtLeast, levelForTail } from './negbin.ts'
import {
  announcesOrders,
  awaitedDay,
  byExpectedDay,
  type Order,
  onOrder,
  openQuantity,
  UNPLANNED_FIELDS,
} from './orders.ts'
import {
  countFindings,
  packLeftover,
  packSize,
  restockFindings,
  revealRisk,
  stuckBooksScale,
} from './stalls.ts'
import type { ItemState } from './state.ts'

export const RISK_LEVELS = ['unknown', 'low', 'medium', 'high', 'critical'] as const
export type RiskLevel = (typeof RISK_LEVELS)[number]

/** (days late, fill share, weight) of the prior's pseudo-deliveries; a lateness of Infinity is an order that does not come. */
export const PRIOR_DELIVERIES: readonly (readonly [late: number, fill: number, weight: number])[] = [
  [0, 1, 2],
  // Late deliveries most often come a day or two late: an order due today that has not come may
  // well come tomorrow (without "a day late", a store's order a day late read as nearly lost).
  [1, 1, 0.3],
  [2, 1, 0.3],
  [5, 0.7, 0.3],
  [10, 1, 0.2],
  [Infinity, 0, 0.3],
]
/** Weight of "nothing comes this time" beside each remembered receipt or order (weight 1 each). */
export const NOTHING_COMES_WEIGHT = 1
/** The pseudo-receipt of an item without a record: replenished when about this many days of demand are left. */
export const PRIOR_RECEIPT_COVER_DAYS = 2
/**
 * A scenario's rule brings at most this many receipts within the horizon: each is a checkpoint of
 * the first passage, and a long horizon over an item that orders daily would otherwise bring dozens
 * (the scores of 59 streams did not move between 5 and no bound).
 */
export const MAX_CHAINED_RECEIPTS = 8
/**
 * The weight (of 1) an unannounced receipt's scenario keeps once the stock has passed its level two
 * days ago or more with nothing received: as likely late as never at that level.
 */
export const PASSED_LEVEL_WEIGHT = 0.5
/** The share of an unannounced supplier's scenarios given to top-ups to its par level, when its record reads as one. */
export const PAR_SHARE = 0.5
/** Receipts with a known level needed before their rule is read as a par level. */
export const PAR_MIN_RECEIPTS = 3
/**
 * The share of each remembered order's scenario (level rule) given to orders placed as the demand
 * draws the position down (triggeredPassage) rather than at the mean rate; likewise of each
 * unannounced receipt's level scenario, for a supplier who tops up to a par level (a refill that
 * answers the stock).
 */
export const TRIGGERED_SHARE = 0.5
/** An order-up-to rule's spacing is read from the gaps between the item's last this many + 1 placing days. */
export const REORDER_GAPS = 8
/** A day's chance that a one-off event takes a stock of one unit; of I units, this over I (suddenLossRisk). */
export const SUDDEN_LOSS = 0.006
/** A risk below this is as good as none: its receipts are not worked out. */
const NEGLIGIBLE_RISK = 1e-9
/** expected_stockout_date looks this far ahead (SPEC §5). */
const STOCKOUT_DATE_DAYS = 365
/**
 * A projected stock within this share of the units added up (the on-hand, at least 1, and the
 * receipts) of 0 is 0, and a stock plus receipts this close to a whole number is that number:
 * rounding left over from summing means (~1e-16 a step), not stock.
 */
const STOCK_DUST = 1e-12

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

export function leadTimeOf(state: ItemState, config: ResolvedConfig): number {
  return state.leadTimeOverride ?? config.leadTimeDays
}

/** Everything of SPEC §5 for the item as of `asOfDay` (its D, or a later day for a carried-forward close). */
export function assessRisk(
  state: ItemState,
  config: ResolvedConfig,
  asOfDay = state.asOfDay,
): RiskAssessment {
  const model = demandModel(state, asOfDay)
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
  const stockoutRisk = riskWithModel(state, books, horizon, cycle, asOfDay, 0, leftover)
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
  const books = booksModel(demandModel(state, asOfDay))
  return riskWithModel(state, books, Math.ceil(leadTimeDays), cycle, asOfDay, unlessBelow)
}

function riskWithModel(
  state: ItemState,
  model: DemandModel,
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
  const shelf = shelfRisk(state, model, onHand, horizon, cycleDays, asOfDay, belowFirst)
  const risk = shelf === 0 ? shelf : shelf * stuckBooksScale(state, asOfDay, packLeftoverUnits, model)
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

interface Scenario {
  weight: number
  receipts: Receipt[]
  /** The receipts top the stock up to their `units` (a par level) instead of adding them. */
  topUp?: boolean
}

/**
 * The ways replenishment may arrive within the horizon: the open orders under each remembered
 * delivery (late, fill); for an item replenished unannounced (replenishedUnannounced), its
 * unplanned receipts' rhythm. Empty: nothing is known to be coming.
 */
function receiptScenarios(
  state: ItemState,
  model: DemandModel,
  asOfDay: number,
  horizon: number,
  cycleDays: number,
): Scenario[] {
  const awaited = awaitedOrders(state)
  const orders = ordersWithin(awaited, asOfDay + horizon)
  if (orders.length > 0) return orderScenarios(state, awaited, orders, model, asOfDay, horizon)
  if (replenishedUnannounced(state))
    return unannouncedScenarios(
      state.unplanned,
      model,
      state.onHand as number,
      (state.onHand as number) + soldSince(state, asOfDay - 1),
      horizon,
      cycleDays,
    )
  if (state.reorders !== null)
    return reorderScenarios(
      state.reorders,
      model,
      awaitedPosition(state.onHand as number, awaited, asOfDay),
      horizon,
      state.orders,
      asOfDay,
    )
  return []
}

/**
 * The open orders due within the horizon under each remembered delivery (late, fill), and beside
 * them the item's own reorder rule (reorderScenarios), whose scenarios share each delivery
 * scenario's weight: the next order may be placed, and arrive, before the open ones have come or in
 * place of one that never does (the rest of a partial delivery that is never shipped stays open for
 * ever under SPEC §3, and must not stop the next order).
 */
function orderScenarios(
  state: ItemState,
  awaited: readonly Order[] | null,
  orders: readonly Order[],
  model: DemandModel,
  asOfDay: number,
  horizon: number,
): Scenario[] {
  const delivery = deliveryScenarios(state.deliveries)
  const scenarios: Scenario[] = []
  let reordered: Scenario[] | null = null
  let reorderedWeight = 0
  for (let i = 0; i < delivery.length; i += 3) {
    const late = delivery[i] as number
    const fill = delivery[i + 1] as number
    const weight = delivery[i + 2] as number
    // Every order would have come by now in this scenario: they have not, so it is not one.
    if (!orders.some((order) => order.expectedDay + late > asOfDay)) continue
    const receipts: Receipt[] = []
    // An order already later than this scenario's lateness does not come in it (see the header);
    // in "never" none does.
    for (const order of orders)
      if (Number.isFinite(late) && order.expectedDay + late > asOfDay)
        receipts.push({ day: order.expectedDay + late - asOfDay, units: openQuantity(order) * fill })
    if (state.reorders === null) {
      scenarios.push({ weight, receipts })
      continue
    }
    if (reordered === null) {
      reordered = reorderScenarios(
        state.reorders,
        model,
        awaitedPosition(state.onHand as number, awaited, asOfDay),
        horizon,
        state.orders,
        asOfDay,
      )
      for (const scenario of reordered) reorderedWeight += scenario.weight
    }
    for (const scenario of reordered)
      scenarios.push({
        weight: (weight * scenario.weight) / reorderedWeight,
        receipts: receipts.concat(scenario.receipts),
      })
  }
  return scenarios
}

/**
 * The inventory position the next order is placed by: on hand plus the orders not yet overdue
 * (expected today or later). An overdue order is as likely one that never comes (see the header):
 * counting it would hold the next order back for ever.
 */
function awaitedPosition(onHand: number, awaited: readonly Order[] | null, asOfDay: number): number {
  let position = onHand
  for (const order of awaited ?? []) if (order.expectedDay >= asOfDay) position += openQuantity(order)
  return position
}

/**
 * An item that announces its orders may place its next orders and receive them within the horizon
 * (with none due, or beside the open ones), by its own rule: each remembered order was placed when
 * the inventory position had fallen to some level ρ and took ℓ days to its first receipt, so one
 * scenario per order says "the next is placed once the position falls to ρ again (tomorrow if it
 * already has), and arrives ℓ days later, and so on, each with the mean order size"; one more says
 * "none this time". When the record reads as an order-up-to rule (orderUpToLevel), the orders come
 * by the calendar instead, each topping the position up to the level (orderUpToPassage).
 */
function reorderScenarios(
  reorders: readonly number[],
  model: DemandModel,
  position: number,
  horizon: number,
  orders: readonly Order[] | null,
  asOfDay: number,
): Scenario[] {
  const upTo = orderUpToLevel(reorders)
  // The placing days are read only for a rule that tops up (they take a sort of the orders); without
  // enough of them the level rule stands.
  const rhythm = upTo === null ? null : reviewRhythm(orders, asOfDay)
  let units = 0
  for (let i = 2; i < reorders.length; i += 3) units += reorders[i] as number
  units /= reorders.length / 3
  const none: Scenario = { weight: NOTHING_COMES_WEIGHT, receipts: [] }
  const scenarios: Scenario[] = [none]
  for (let i = 0; i < reorders.length; i += 3) {
    const lead = reorders[i + 1] as number
    const receipts =
      rhythm === null
        ? levelTriggeredOrders(reorders[i] as number, lead, units, model, position, horizon)
        : calendarOrders(rhythm, lead, upTo as number, horizon)
    if (receipts.length === 0) none.weight++
    else if (rhythm !== null) scenarios.push({ weight: 1, receipts })
    else {
      // When the next orders are placed is not seen: at the mean rate (fixed receipts against the
      // horizon's demand), or as the demand draws the position down (each order's lead time alone).
      scenarios.push({ weight: 1 - TRIGGERED_SHARE, receipts })
      const trigger = reorders[i] as number
      scenarios.push({
        weight: TRIGGERED_SHARE,
        receipts: receipts.map((r) => ({ day: r.day, units: r.units, since: lead, trigger })),
      })
    }
  }
  return scenarios
}

/** The receipts of orders placed each time the position falls to `level` (none: the first comes after the horizon). */
function levelTriggeredOrders(
  level: number,
  lead: number,
  units: number,
  model: DemandModel,
  position: number,
  horizon: number,
): Receipt[] {
  // Tomorrow at the earliest, also when the position is above the level by rounding dust only.
  let placed = Math.max(1, Math.ceil(withoutDust((position - level) / model.rate)))
  // The rule goes on working: each order raises the position by its units, and the next is placed
  // once the position has fallen to the level again (an item that orders every day or two gets
  // several orders within a week's horizon, not one).
  const receipts: Receipt[] = []
  for (let orders = 1; placed + lead <= horizon && orders <= MAX_CHAINED_RECEIPTS; orders++) {
    receipts.push({ day: placed + lead, units })
    placed = Math.max(placed + 1, Math.ceil(withoutDust((position + orders * units - level) / model.rate)))
  }
  return receipts
}

/**
 * The receipts of orders placed by the calendar, each topping the position up to `upTo`, until the
 * horizon: each costs the passage one tail, not a checkpoint's sum, so they are not bounded.
 */
function calendarOrders(rhythm: ReviewRhythm, lead: number, upTo: number, horizon: number): Receipt[] {
  const receipts: Receipt[] = []
  for (let placed = rhythm.next; placed + lead <= horizon; placed += rhythm.gap)
    receipts.push({ day: placed + lead, units: upTo, since: lead })
  return receipts
}

interface ReviewRhythm {
  /** Days from D to the next order's placing (1 = tomorrow). */
  next: number
  /** Days between orders. */
  gap: number
}

/**
 * When the item places its orders: the lower median of the gaps between its last 9 placing days
 * (days of first purchase_orders, each day once), the next one due that gap after the last
 * (tomorrow at the earliest); null with fewer than PAR_MIN_RECEIPTS placing days.
 */
function reviewRhythm(orders: readonly Order[] | null, asOfDay: number): ReviewRhythm | null {
  if (orders === null) return null
  const days: number[] = []
  for (const order of orders) if (Number.isFinite(order.placedDay)) days.push(order.placedDay)
  days.sort((a, b) => a - b)
  const gaps: number[] = []
  for (let i = days.length - 1; i > 0 && gaps.length < REORDER_GAPS; i--)
    if ((days[i] as number) > (days[i - 1] as number))
      gaps.push((days[i] as number) - (days[i - 1] as number))
  if (gaps.length < PAR_MIN_RECEIPTS - 1) return null
  gaps.sort((a, b) => a - b)
  const gap = gaps[(gaps.length - 1) >> 1] as number
  return { gap, next: Math.max(1, (days[days.length - 1] as number) + gap - asOfDay) }
}

/**
 * The level the item's orders bring its inventory position up to, when its record reads as an
 * order-up-to rule: at least PAR_MIN_RECEIPTS orders, the positions after them (the position they
 * were placed at plus their units) varying less than their units (a buyer who tops up to a level
 * orders what has sold; one who orders a fixed quantity leaves the level after it to vary); null
 * otherwise.
 */
function orderUpToLevel(reorders: readonly number[]): number | null {
  const n = reorders.length / 3
  let after = 0
  let afterSquares = 0
  let units = 0
  let unitSquares = 0
  for (let i = 0; i < reorders.length; i += 3) {
    const u = reorders[i + 2] as number
    const level = (reorders[i] as number) + u
    after += level
    afterSquares += level * level
    units += u
    unitSquares += u * u
  }
  return steadierLevel(n, after, afterSquares, units, unitSquares)
}

/**
 * The mean level after n receipts or orders (from the sums of the levels after them and of their
 * units, and of their squares), when those levels vary less than the units do and there are at
 * least PAR_MIN_RECEIPTS of them: what a supplier or buyer topping up to a level leaves; else null.
 */
function steadierLevel(
  n: number,
  after: number,
  afterSquares: number,
  units: number,
  unitSquares: number,
): number | null {
  if (n < PAR_MIN_RECEIPTS) return null
  const level = after / n
  if (!(level > 0) || afterSquares / n - level * level >= unitSquares / n - (units / n) ** 2) return null
  return level
}

/**
 * P(the stock reaches 0 on some day 1 … horizon) when the item's next orders each top its position
 * up to a level S (the receipts with `since`): until the first of them arrives, the stock and the
 * other receipts as firstPassage has them; after the order placed on day p has arrived, the stock
 * at the end of day q, before the next one arrives, is S less the demand of days p + 1 … q, whatever
 * came before (the open orders still to come were in the position it topped up). The stretches'
 * demands are taken as independent.
 */
function orderUpToPassage(
  model: DemandModel,
  onHand: number,
  receipts: Receipt[],
  horizon: number,
  firstCrossing: number[],
): number {
  const upTo = receipts.filter((r) => r.since !== undefined)
  const first = upTo[0] as Receipt
  let survive = survivesUntil(model, onHand, receipts, first.day, firstCrossing)
  for (let k = 0; k < upTo.length; k++) {
    const { day, units, since } = upTo[k] as Receipt
    const end = k + 1 < upTo.length ? (upTo[k + 1] as Receipt).day - 1 : horizon
    if (end >= day) survive *= outlasts(model, units, day - (since as number), end)
  }
  return 1 - survive
}

/** P(the stock and the plain receipts before `day` last through day − 1): the first passage's complement. */
function survivesUntil(
  model: DemandModel,
  onHand: number,
  receipts: Receipt[],
  day: number,
  firstCrossing: number[],
): number {
  if (day <= 1) return 1
  const before = receipts.filter((r) => r.since === undefined && r.day < day)
  return 1 - firstPassage(model, onHand, before, day - 1, firstCrossing)
}

/** P(the demand of days from + 1 … to stays below `stock`); with no day between, whether there is stock. */
function outlasts(model: DemandModel, stock: number, from: number, to: number): number {
  if (to <= from) return stock > 0 ? 1 : 0
  const mean = meanBetween(model, from, to)
  return 1 - demandAtLeast(stock, mean, varianceOver(model, mean, to - from))
}

/** The first passage the receipts call for: plain, after orders topping up to a level, or after orders a level triggers. */
function passageOf(
  model: DemandModel,
  onHand: number,
  receipts: Receipt[],
  horizon: number,
  firstCrossing: number[],
): number {
  for (const receipt of receipts) {
    if (receipt.trigger !== undefined)
      return triggeredPassage(model, onHand, receipts, horizon, firstCrossing)
    if (receipt.since !== undefined) return orderUpToPassage(model, onHand, receipts, horizon, firstCrossing)
  }
  return firstPassage(model, onHand, receipts, horizon, firstCrossing)
}

/**
 * P(the stock reaches 0 on some day 1 … horizon) when the item's next orders are each placed on the
 * day its position falls to a level ρ (the receipts with `trigger`), whenever the demand takes it
 * there: until the first is placed, the stock and the other receipts as firstPassage has them; each
 * order, placed with ρ less the earlier orders still on their way on the shelf, must see that stock
 * outlast the demand until it arrives (the recorded level was the position at the end of the day the
 * order was placed: one of 0 or below was a shelf already empty); after the last, its position
 * (ρ plus its units, less those earlier orders) the demand from its placing to the horizon. The
 * stretches' demands are taken as independent.
 */
function triggeredPassage(
  model: DemandModel,
  onHand: number,
  receipts: Receipt[],
  horizon: number,
  firstCrossing: number[],
): number {
  const orders = receipts.filter((r) => r.trigger !== undefined)
  const first = orders[0] as Receipt
  let survive = survivesUntil(model, onHand, receipts, first.day - (first.since as number), firstCrossing)
  for (let k = 0; k < orders.length; k++) {
    const { day, units, since, trigger } = orders[k] as Receipt
    const placed = day - (since as number)
    let stock = trigger as number
    for (let j = 0; j < k; j++) if ((orders[j] as Receipt).day > placed) stock -= (orders[j] as Receipt).units
    survive *= outlasts(model, stock, placed, day - 1)
    if (k === orders.length - 1 && horizon >= day) survive *= outlasts(model, stock + units, placed, horizon)
  }
  return 1 - survive
}

/** Triples (days late, fill, weight): the prior's pseudo-deliveries and the item's own record, equal ones merged. */
const PRIOR_SCENARIOS: readonly number[] = PRIOR_DELIVERIES.flat()

function deliveryScenarios(record: readonly number[] | null): readonly number[] {
  if (record === null) return PRIOR_SCENARIOS
  const scenarios = PRIOR_SCENARIOS.slice()
  for (let i = 0; i < record.length; i += 2) {
    const late = record[i] as number
    const fill = record[i + 1] as number
    let j = 0
    while (j < scenarios.length && !(scenarios[j] === late && scenarios[j + 1] === fill)) j += 3
    if (j < scenarios.length) scenarios[j + 2] = (scenarios[j + 2] as number) + 1
    else scenarios.push(late, fill, 1)
  }
  return scenarios
}

/**
 * An item that never announces its orders is still replenished, by a rule we do not see. Its own
 * record stands in for the orders it does not show: each remembered unplanned receipt came when the
 * stock had fallen to some level ρ; one scenario per receipt says "the next comes once the stock
 * falls to ρ again", i.e. in (I − ρ) / λ days (tomorrow if it is already below ρ), with the mean
 * receipt size. A receipt that found the shelf empty came w days after it emptied (w whole days out
 * of stock before it): "the next comes w days after the stock runs out", I / λ + w days, since a
 * level of 0 alone would say the supplier always comes just in time. Each gap between its receipts
 * that is longer than the time since the last says when by the calendar; one more says "none this
 * time". In each, the receipts after the next one come each once the mean receipt has sold. For a
 * supplier who tops up to a par level, half of each level scenario's refills answer the stock instead:
 * each comes on the day the stock falls to the level (triggeredPassage, no lead time).
 */
function unannouncedScenarios(
  unplanned: readonly number[] | null,
  model: DemandModel,
  onHand: number,
  /** The stock at the close of the day before yesterday, as the sales since tell it. */
  twoDaysAgo: number,
  horizon: number,
  cycleDays: number,
): Scenario[] {
  const record = unplanned ?? []
  const receipts = record.length / UNPLANNED_FIELDS
  let units = model.rate * cycleDays // the pseudo-receipt brings a lead time plus review period of demand
  for (let i = 1; i < record.length; i += UNPLANNED_FIELDS) units += record[i] as number
  units /= 1 + receipts
  // Scenarios with the same arrival day are one; one arriving after the horizon is "none".
  const none: Scenario = { weight: NOTHING_COMES_WEIGHT, receipts: [] }
  const scenarios: Scenario[] = [none]
  const add = (day: number, weight = 1) => {
    if (day > horizon) {
      none.weight += weight
      return
    }
    const same = scenarios.find((s) => s.receipts[0]?.day === day && s.receipts[0].trigger === undefined)
    if (same === undefined) scenarios.push({ weight, receipts: [{ day, units }] })
    else same.weight += weight
  }
  const atLevel = (level: number) =>
    level >= onHand ? 1 : Math.ceil(withoutDust((onHand - level) / model.rate))
  const par = parLevel(record)
  const triggers = receiptTriggers(record, model)
  for (let i = 0; i < triggers.length; i += 2) {
    // Stock comes in whole units: it has fallen to a level of 2.6 only once it is at 2.
    const level = Math.floor(withoutDust(triggers[i] as number))
    if (level <= 0) add(atLevel(0) + (triggers[i + 1] as number))
    // The stock has been at or below the level for two days and more, and nothing came: this time
    // the receipt is not coming at that level, or is late (a day's slack for a delivery the morning after).
    else if (twoDaysAgo <= level) add(atLevel(level), PASSED_LEVEL_WEIGHT)
    else if (par === null) add(atLevel(level))
    else {
      // A supplier who tops up to a par level mostly answers the stock (a cabinet refilled the morning
      // after its count falls below its minimum): half of the scenario's refills come on the day the
      // stock falls to the level, whenever the demand takes it there (triggeredPassage with no lead).
      const day = atLevel(level)
      add(day, 1 - TRIGGERED_SHARE)
      if (day > horizon) none.weight += TRIGGERED_SHARE
      else scenarios.push({ weight: TRIGGERED_SHARE, receipts: [{ day, units, since: 0, trigger: level }] })
    }
  }
  // Its rhythm too: with τ days since its last receipt, each gap g > τ between two of its receipts
  // says "the next one in g − τ days" (a renewal process; both clocks, stock and time, are evidence).
  const sinceLast = model.asOfDay - (record[record.length - UNPLANNED_FIELDS] ?? model.asOfDay)
  for (let i = UNPLANNED_FIELDS; i < record.length; i += UNPLANNED_FIELDS) {
    const gap = (record[i] as number) - (record[i - UNPLANNED_FIELDS] as number)
    if (gap > sinceLast) add(gap - sinceLast)
  }
  // The supplier's rule goes on working: each receipt brings the mean units, and the next comes once
  // those have sold, on the same terms as the first (atLevel): at the start of the day whose demand
  // would take the stock back down to its level, not the morning after it has (that put every cycle
  // a day's demand short: a shelf topped up four times a week read 0.3–0.6 a day and never emptied).
  const spacing = Math.max(1, Math.ceil(withoutDust(units / model.rate)) - 1)
  // When the record reads as a par level, half of each scenario's weight goes to top-ups to it instead,
  // one scenario per remembered gap between receipts: the rule behind the receipts is not seen, and
  // the par form alone lost where a heat spell or a skipped visit beat the par (README).
  const toppedUp: Scenario[] = []
  for (const scenario of scenarios) {
    const first = scenario.receipts[0]
    // "Nothing comes" reads the same either way: it keeps its whole weight.
    if (par !== null && first !== undefined) {
      const share = scenario.weight * PAR_SHARE
      for (const gap of par.gaps) {
        const receipts: Receipt[] = []
        for (let day = first.day; day <= horizon; day += gap) receipts.push({ day, units: par.level })
        toppedUp.push({ weight: share / par.gaps.length, receipts, topUp: true })
      }
      scenario.weight -= share
    }
    if (first !== undefined)
      for (let day = first.day + spacing; day <= horizon; day += spacing)
        scenario.receipts.push(first.trigger === undefined ? { day, units } : { ...first, day })
  }
  return par === null ? scenarios : scenarios.concat(toppedUp)
}

/**
 * A supplier that tops the shelf up to a par level (route drivers, a wholesaler's daily order-up-to)
 * leaves the stock at about the same level each time, its units following what sold; one that sends
 * a fixed quantity brings about the same units, the level after following the stock it found. The
 * par level (the mean level after the receipts with a known level) and the days between the
 * remembered receipts, when the levels after vary less than the units (at least PAR_MIN_RECEIPTS
 * known levels); null otherwise.
 */
function parLevel(record: readonly number[]): { level: number; gaps: number[] } | null {
  let n = 0
  let after = 0
  let afterSquares = 0
  let units = 0
  let unitSquares = 0
  for (let i = 0; i < record.length; i += UNPLANNED_FIELDS) {
    const level = record[i + 2] as number
    if (Number.isNaN(level)) continue
    const u = record[i + 1] as number
    n++
    after += level + u
    afterSquares += (level + u) ** 2
    units += u
    unitSquares += u * u
  }
  const level = steadierLevel(n, after, afterSquares, units, unitSquares)
  if (level === null) return null
  const gaps: number[] = []
  for (let i = UNPLANNED_FIELDS; i < record.length; i += UNPLANNED_FIELDS)
    gaps.push(Math.max(1, (record[i] as number) - (record[i - UNPLANNED_FIELDS] as number)))
  return gaps.length === 0 ? null : { level, gaps }
}

/**
 * Whether the item's replenishment is read from its unannounced receipts: it has never announced an
 * order, or more of its receipts came unannounced than against orders since the oldest it remembers
 * (a store topped up every few days by its warehouse that now and then receives a special order is
 * still topped up every few days); on a tie, its latest receipt came with none announced.
 */
function replenishedUnannounced(state: ItemState): boolean {
  if (!announcesOrders(state)) return true
  const record = state.unplanned
  if (record === null) return false
  const oldestUnannounced = record[0] as number
  let received = 0
  let latestReceived = Number.NEGATIVE_INFINITY
  for (const order of state.orders ?? [])
    if (order.ordered !== null && order.received > 0 && order.lastDay >= oldestUnannounced) {
      received++
      latestReceived = Math.max(latestReceived, order.lastDay)
    }
  const unannounced = record.length / UNPLANNED_FIELDS
  if (unannounced !== received) return unannounced > received
  return latestReceived < (record[record.length - UNPLANNED_FIELDS] as number)
}

/**
 * Pairs (stock level, days out of stock before) the unannounced receipts came at: the prior
 * pseudo-receipt's (2 days of stock, none out), then the record's with a known level.
 */
function receiptTriggers(record: readonly number[], model: DemandModel): number[] {
  const triggers = [PRIOR_RECEIPT_COVER_DAYS * model.rate, 0]
  for (let i = 2; i < record.length; i += UNPLANNED_FIELDS)
    if (!Number.isNaN(record[i])) triggers.push(record[i] as number, record[i + 1] as number)
  return triggers
}

function shrinkSummary(counts: readonly number[] | null): RiskNotes['shrink'] {
  if (counts === null) return null
  const { missing, days } = countFindings(counts)
  return missing > 0 ? { missing, days } : null
}

function stallSummary(restocks: readonly number[] | null): RiskNotes['stalls'] {
  if (restocks === null) return null
  const { stalled } = restockFindings(restocks)
  return stalled === 0 ? null : { stalled, restocks: restocks.length / 2 }
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

/** The item's orders with each expected on the day the risk awaits it (orders.ts awaitedDay). */
function awaitedOrders(state: ItemState): Order[] | null {
  const orders = state.orders
  const reorders = state.reorders
  if (orders === null || reorders === null || !orders.some((order) => order.undated)) return orders
  return orders.map((order) =>
    order.undated ? { ...order, expectedDay: awaitedDay(order, reorders) } : order,
  )
}

/** The open orders expected (or overdue) by the end of the horizon, earliest expected first. */
function ordersWithin(orders: readonly Order[] | null, lastDay: number): Order[] {
  const within: Order[] = []
  if (orders === null) return within
  for (let i = 0; i < orders.length; i++) {
    const order = orders[i] as Order
    if (openQuantity(order) > 0 && order.expectedDay <= lastDay) within.push(order)
  }
  return within.length > 1 ? within.sort(byExpectedDay) : within
}

/** Receipt days count from D (1 = tomorrow); a receipt is on the shelf for its own day's demand. */
interface Receipt {
  day: number
  units: number
  /**
   * An order of an order-up-to rule: placed this many days before its day, it topped the position
   * up to `units` (reorderScenarios).
   */
  since?: number
  /**
   * An order of a level rule: placed `since` days before its day, on the day the position fell to
   * this level (reorderScenarios).
   */
  trigger?: number
}

/** P(the stock reaches 0 on some day 1 … horizon) with these receipts (see the header). */
export function firstPassage(
  model: DemandModel,
  onHand: number,
  receipts: Receipt[],
  horizon: number,
  /** P(the demand reaches the stock on hand by day k), at index k: shared by the scenarios of one item. */
  firstCrossing: number[] = [],
): number {
  const sorted = receipts.length === 0 ? receipts : inHorizon(receipts, horizon)
  let level = onHand
  let risk = 0
  let last: Checkpoint | null = null
  let i = 0
  while (i <= sorted.length) {
    const day = i < sorted.length ? (sorted[i] as Receipt).day - 1 : horizon
    if (day > (last?.day ?? 0)) {
      const mean = meanBetween(model, 0, day)
      const here: Checkpoint = { day, level, mean, variance: varianceOver(model, mean, day) }
      if (last !== null) risk += crossesOnlyLater(model, last, here)
      else {
        // Shared only while nothing has arrived yet (receipts on day 1 raise the first level).
        let crossing = level === onHand ? firstCrossing[day] : undefined
        if (crossing === undefined) {
          crossing = demandAtLeast(level, mean, here.variance)
          if (level === onHand) firstCrossing[day] = crossing
        }
        risk = crossing
        here.crossing = crossing
      }
      last = here
    }
    if (i === sorted.length) break
    const receiptDay = (sorted[i] as Receipt).day
    while (i < sorted.length && (sorted[i] as Receipt).day === receiptDay)
      level += (sorted[i++] as Receipt).units
    level = withoutDust(level)
  }
  return Math.min(1, risk)
}

/**
 * P(the stock reaches 0 on some day 1 … horizon) when each receipt tops it up to its `units` (a par
 * level): the stock on hand must outlast the demand until the first receipt, and the par level each
 * stretch between receipts (the stretches' demands taken as independent).
 */
function topUpPassage(model: DemandModel, onHand: number, receipts: Receipt[], horizon: number): number {
  let survive = 1
  let level = onHand
  let last = 0
  for (let i = 0; i <= receipts.length; i++) {
    const day = i < receipts.length ? (receipts[i] as Receipt).day - 1 : horizon
    if (day > last) {
      const mean = meanBetween(model, last, day)
      survive *= 1 - demandAtLeast(level, mean, varianceOver(model, mean, day - last))
      last = day
    }
    if (i < receipts.length) level = (receipts[i] as Receipt).units
  }
  return 1 - survive
}

/**
 * A stock plus receipts (or a number of days) within STOCK_DUST of a whole number is that number:
 * demand comes in whole units, so its ⌈·⌉ must not see the rounding of an estimate (a mean receipt
 * of 0.75 × 24 computed as 18.000000000000004 would ask the demand for one unit more).
 */
function withoutDust(level: number): number {
  const whole = Math.round(level)
  return Math.abs(level - whole) <= STOCK_DUST * Math.max(1, Math.abs(level)) ? whole : level
}

/** The receipts that arrive within the horizon, by day (copied only when that changes something). */
function inHorizon(receipts: Receipt[], horizon: number): Receipt[] {
  let kept = true
  for (let i = 0; i < receipts.length; i++) {
    const r = receipts[i] as Receipt
    if (r.day > horizon || !(r.units > 0) || (i > 0 && r.day < (receipts[i - 1] as Receipt).day)) kept = false
  }
  if (kept) return receipts
  return receipts.filter((r) => r.day <= horizon && r.units > 0).sort((a, b) => a.day - b.day)
}

/** The demand by the end of `day` reaching `level` (the stock plus the receipts before the next checkpoint). */
interface Checkpoint {
  day: number
  level: number
  mean: number
  variance: number
  /** P(the demand by `day` reaches `level`), where it has been worked out. */
  crossing?: number
}

/** Up to this many whole values of the earlier demand are summed one by one; beyond, on a grid. */
const EXACT_SUM_VALUES = 512
const GRID_CELLS = 128

/**
 * P(the demand stays below the earlier checkpoint's level but reaches the later one's):
 * Σ over x < L₁ of P(X₁ = x)·P(Y ≥ L₂ − x), Y the demand between them. Summed value by value from
 * x = L₁ − 1 down until the rest of X₁'s probability no longer matters; when that range is wider
 * than EXACT_SUM_VALUES (high-volume items), over GRID_CELLS cells of it instead, Y's tail taken
 * at each cell's middle, so that the work stays bounded whatever the number of units.
 */
function crossesOnlyLater(model: DemandModel, earlier: Checkpoint, later: Checkpoint): number {
  const top = Math.ceil(earlier.level) - 1
  if (top < 0) return 0
  const between = later.mean - earlier.mean
  const betweenVariance = varianceOver(model, between, later.day - earlier.day)
  // Below ten standard deviations under the mean the earlier demand has no probability to speak of.
  const bottom = Math.max(0, Math.floor(earlier.mean - 10 * Math.sqrt(earlier.variance)))
  if (top - bottom > EXACT_SUM_VALUES)
    return crossesOnGrid(earlier, later, bottom, top, between, betweenVariance)
  const stock = new DemandWalk(earlier.mean, earlier.variance, top, earlier.crossing)
  const survive = 1 - stock.tail + stock.pmf
  const need = Math.ceil(later.level - top)
  const demand = new DemandWalk(between, betweenVariance, Math.max(0, need))
  let sum = 0
  let seen = 0
  for (let step = 0; ; step++) {
    const tail = need + step <= 0 ? 1 : demand.tail
    sum += stock.pmf * tail
    seen += stock.pmf
    if (stock.x === 0 || tail < 1e-12 || seen >= survive - 1e-12) break
    stock.down()
    if (need + step >= 0) demand.up()
  }
  return sum
}

function crossesOnGrid(
  earlier: Checkpoint,
  later: Checkpoint,
  bottom: number,
  top: number,
  between: number,
  betweenVariance: number,
): number {
  const width = (top + 1 - bottom) / GRID_CELLS
  // The earlier demand's tail at each cell's lower edge, walked up from the bottom (its mass near
  // the top may be too small for a double, so the walk does not start there).
  const lowers = new Float64Array(GRID_CELLS)
  const stock = new DemandWalk(earlier.mean, earlier.variance, bottom)
  for (let cell = 0; cell < GRID_CELLS; cell++) {
    stock.moveTo(Math.ceil(bottom + cell * width))
    lowers[cell] = stock.tail
  }
  // The demand between them must cover more the lower the earlier demand: walked up as the cells go down.
  const need = new DemandWalk(
    between,
    betweenVariance,
    wholeNeed(later.level, bottom + (GRID_CELLS - 0.5) * width),
  )
  let sum = 0
  let upper = earlier.crossing ?? demandAtLeast(top + 1, earlier.mean, earlier.variance)
  for (let cell = GRID_CELLS - 1; cell >= 0; cell--) {
    need.moveTo(wholeNeed(later.level, bottom + (cell + 0.5) * width))
    const lower = lowers[cell] as number
    sum += (lower - upper) * need.tail
    upper = lower
  }
  return sum
}

/** The whole units the demand must reach to empty `level` once `taken` have gone (at least 0: certain). */
function wholeNeed(level: number, taken: number): number {
  return Math.max(0, Math.ceil(level - taken))
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

/** Units the item sold from `day` to its latest day. */
function soldSince(state: ItemState, day: number): number {
  const sales = state.sales
  let sold = 0
  if (sales === null) return sold
  for (let i = sales.length - 2; i >= 0 && (sales[i] as number) >= day; i -= 2) sold += sales[i + 1] as number
  return sold
}
