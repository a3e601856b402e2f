// When replenishment may arrive within the horizon (SPEC §5's open orders, and what an item's own
// record says of the orders it does not announce): weighted scenarios of receipts, each worked out
// by passage.ts, their weighted mean the risk (risk.ts).
//
// When the receipts come: the item's own record of its last deliveries (days late, share of the
// units the first receipt brought) together with PRIOR_DELIVERIES, a few pseudo-deliveries that say
// "usually on time, sometimes days late, now and then short or lost" for items without a record. An
// order sent without a date (no expected_at, no lead_time_days: SPEC §3 puts it at the default lead
// time) is awaited by the item's usual days from order to first receipt instead, when that is
// sooner (orders.ts awaitedDay). Each remembered delivery is a scenario. What has not come yet can
// no longer come early: a scenario whose lateness every open order is already past is ruled out
// (the risk is conditioned on the orders not having arrived, the residual lead time); an order past
// it while another is not does not come in it: the record learns only from orders that came, so an
// order later than a scenario says is as likely one that never comes (bringing it tomorrow made
// late suppliers' risk too low). Items that never announce an order, or most of whose recent
// receipts came unannounced (replenishedUnannounced), get scenarios from their unannounced receipts
// instead (unannouncedScenarios; half of their weight on top-ups to a par level when the receipts
// leave the stock at one level: topUpPassage); items that announce them also from the orders they
// placed and received before (reorderScenarios: the next order may come within the horizon, beside
// the open ones or with none due; by the calendar, topping the position up to a level, when the
// record reads so: orderUpToPassage; else half at the mean rate, half placed as the demand draws
// the position down: triggeredPassage).
//
// When in its day a receipt comes: a delivery at noon finds the morning's customers gone, so the
// shelf can empty on a receipt's own day, before it. The share of a receipt day's demand that comes
// before the delivery is the item's own (receiptShare): over its noted restock days (stalls.ts, the
// last RESTOCK_RECORD), the units sold before the day's first receipt over the day's units, with
// RECEIPT_SHARE_PSEUDO_UNITS more in the day's, so that a few receipt days say little; a store whose
// trucks come before it opens reads 0. The first passage puts that share of the day before the receipt.
import type { DemandModel } from './demand.ts'
import {
  announcesOrders,
  awaitedDay,
  byExpectedDay,
  type Order,
  openQuantity,
  UNPLANNED_FIELDS,
} from './orders.ts'
import { type Receipt, withoutDust } from './passage.ts'
import { RESTOCK_FIELDS, soldOn } from './stalls.ts'
import type { ItemState } from './state.ts'

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

/** Units of receipt days with none sold before the delivery: the receipt share's prior, worth this many units. */
export const RECEIPT_SHARE_PSEUDO_UNITS = 3

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
 * unannounced receipt's level scenario (a refill that answers the stock).
 */
export const TRIGGERED_SHARE = 0.5

/** An order-up-to rule's spacing is read from the gaps between the item's last this many + 1 placing days. */
export const REORDER_GAPS = 8

export interface Scenario {
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
export function receiptScenarios(
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
    return reorderScenarios(state.reorders, state, awaited, model, asOfDay, horizon)
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
      reordered = reorderScenarios(state.reorders, state, awaited, model, asOfDay, horizon)
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
  state: ItemState,
  awaited: readonly Order[] | null,
  model: DemandModel,
  asOfDay: number,
  horizon: number,
): Scenario[] {
  const position = awaitedPosition(state.onHand as number, awaited, asOfDay)
  const orders = state.orders
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
 * time". In each, the receipts after the next one come each once the mean receipt has sold. Half of
 * each level scenario's refills answer the stock instead: each comes on the day the stock falls to the
 * level (triggeredPassage, no lead time).
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
    else {
      // A supplier mostly answers the stock (a cabinet refilled the morning after its count falls below
      // its minimum, a wholesaler's min/max top-up within the day): half of the scenario's refills come
      // on the day the stock falls to the level, whenever the demand takes it there (triggeredPassage
      // with no lead).
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
export function replenishedUnannounced(state: ItemState): boolean {
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
export function receiptTriggers(record: readonly number[], model: DemandModel): number[] {
  const triggers = [PRIOR_RECEIPT_COVER_DAYS * model.rate, 0]
  for (let i = 2; i < record.length; i += UNPLANNED_FIELDS)
    if (!Number.isNaN(record[i])) triggers.push(record[i] as number, record[i + 1] as number)
  return triggers
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
export function ordersWithin(orders: readonly Order[] | null, lastDay: number): Order[] {
  const within: Order[] = []
  if (orders === null) return within
  for (let i = 0; i < orders.length; i++) {
    const order = orders[i] as Order
    if (openQuantity(order) > 0 && order.expectedDay <= lastDay) within.push(order)
  }
  return within.length > 1 ? within.sort(byExpectedDay) : within
}

/** Units the item sold from `day` to its latest day. */
function soldSince(state: ItemState, day: number): number {
  const sales = state.sales
  let sold = 0
  if (sales === null) return sold
  for (let i = sales.length - 2; i >= 0 && (sales[i] as number) >= day; i -= 2) sold += sales[i + 1] as number
  return sold
}

/**
 * The share of a receipt day's demand that comes before its delivery (see the header): of the noted
 * restock days before `asOfDay` (a day still under way has not sold all it will), those whose sales
 * the state still holds and whose units before the receipt are known.
 */
export function receiptShare(state: ItemState, asOfDay: number): number {
  const record = state.restocks
  if (record === null) return 0
  let before = 0
  let all = 0
  for (let i = 0; i < record.length; i += RESTOCK_FIELDS) {
    const day = record[i] as number
    const ahead = record[i + 2] as number
    if (day >= asOfDay || !(ahead >= 0)) continue
    const units = soldOn(state, day)
    if (units > 0) {
      before += ahead
      all += units
    }
  }
  return before / (all + RECEIPT_SHARE_PSEUDO_UNITS)
}
