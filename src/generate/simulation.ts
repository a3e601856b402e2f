// A day-by-day simulation of every item's stock: demand events (from the item's listing day on),
// stock counts, reorders (announced with purchase orders, or not) and their deliveries, which come
// on time or late or early, whole or short, or not at all. Items sleep in a calendar of day buckets
// and wake only when something can happen to them, so the work is proportional to events, not to
// items × days.
import type { EventType } from '../core/event.ts'
import { MS_PER_DAY } from '../core/time.ts'
import { DayBuffer } from './day-buffer.ts'
import {
  calibrateDemandScale,
  expectedUnitsPerDay,
  FOUND_SHARE,
  orderQuantity,
  PROMO_MAX_DAYS,
  PROMO_MAX_LIFT,
  PROMO_MEAN_EXTRA_GAP_DAYS,
  PROMO_MIN_DAYS,
  PROMO_MIN_GAP_DAYS,
  PROMO_MIN_LIFT,
  RETURN_SHARE,
  reorderPoint,
  SHRINK_SHARE,
  trendFactor,
  weekdayFactor,
} from './demand.ts'
import { ItemTable } from './items.ts'
import { type GenerateOptions, parseStartDay } from './options.ts'
import {
  CANCEL_SHARE,
  CLOSE_SHORT_SHARE,
  cancelDelayDays,
  deliveryLateness,
  EXPECTED_AT_OMITTED_SHARE,
  ORDER_LEAD_TIME_SHARE,
  PARTIAL_SHARE,
  partialUnits,
  RECEIPT_ORDER_ID_SHARE,
  REST_LATER_SHARE,
  restDelayDays,
} from './orders.ts'
import { Random } from './random.ts'
import type { EventRecord } from './record.ts'
import { formatInZone, zoneOfWarehouse } from './timestamp.ts'

/** Calendar ring length; every wake-up is scheduled less than this many days ahead. */
const RING_DAYS = 128
/** Rising demand outgrows its envelope, so those items re-plan their envelope at least this often. */
const RISING_REPLAN_DAYS = 28
const FLAT_REPLAN_DAYS = 120
/** Items expecting fewer demand candidates than this per re-plan period get the cheap, loose envelope. */
const SPARSE_CANDIDATES = 4

// Times of day (seconds, UTC): counts before opening, deliveries during the day, sales 07:00–21:00.
// The same UTC hours for every warehouse, whatever zone it reports in, so that a simulated day's
// events stay inside that UTC day and the stream stays in time order across days.
const COUNT_FROM = 5 * 3600
const COUNT_SPAN = 2 * 3600
const DELIVERY_FROM = 8 * 3600
const DELIVERY_SPAN = 8 * 3600
const SALES_FROM = 7 * 3600
const SALES_SPAN = 14 * 3600

/** Share of events whose producer sends epoch milliseconds instead of an ISO string. */
const EPOCH_MS_SHARE = 0.12
/** A sale against empty (or short) stock usually does not happen; sometimes it is oversold. */
const OVERSELL_WHEN_EMPTY = 0.08
const OVERSELL_WHEN_SHORT = 0.15
// How often events carry the optional fields.
const ON_HAND_SHARE: Record<EventType, number> = {
  sale: 0.04,
  return: 0.1,
  restock: 0.5,
  adjustment: 0.3,
  stock_count: 0,
  purchase_order: 0,
}
/** Spread (sigma of the log) of the buyer's demand forecast around the item's true average. */
const FORECAST_ERROR_SIGMA = 0.3
const RESTOCK_LEAD_TIME_SHARE = 0.35
const COUNT_LEAD_TIME_SHARE = 0.5

const FLAG_STARTED = 1
const FLAG_SOLD_SINCE_COUNT = 2
const NONE = -1
/** A close-short amendment follows the short delivery by one to thirty minutes. */
const AMEND_MIN_SECONDS = 60
const AMEND_MAX_SECONDS = 1800
/** expected_at must stay inside SPEC §2's years; an order expected in 2100 leaves it out. */
const END_OF_2099_MS = Date.UTC(2100, 0, 1)

// What happens to an item's order on its arrivalDay.
/** The order's delivery: whole, or (sometimes) short. */
const STAGE_DELIVERY = 0
/** The rest of a short delivery. */
const STAGE_REST = 1
/** The supplier cancels it; nothing comes. */
const STAGE_CANCEL = 2

/** Unique event ids: one counter per run, the seed in the prefix so files from different seeds can be mixed. */
export class IdSource {
  private counter = 0
  private readonly prefix: string

  constructor(seed: number) {
    this.prefix = `evt-${seed}-`
  }

  next(): string {
    return this.prefix + (this.counter++).toString(36).padStart(7, '0')
  }
}

export class InventorySimulation {
  private readonly items: ItemTable
  private readonly rng: Random
  private readonly ids: IdSource
  private readonly historyDays: number
  private readonly startDay: number
  private readonly scale: number
  private readonly skuWidth: number
  private readonly warehouseNames: string[]
  private readonly orderPrefix: string
  private orderCount = 0
  private day = 0

  // Calendar: one singly linked list of items per day bucket.
  private readonly bucketHead = new Int32Array(RING_DAYS).fill(NONE)
  private readonly bucketNext: Int32Array

  // Demand envelope (for thinning): the next candidate time, the envelope rate, and the first day it no longer covers.
  private readonly nextCandidate: Float64Array
  private readonly envelope: Float64Array
  private readonly envelopeEnd: Int32Array

  private readonly promoStart: Int32Array
  private readonly promoEnd: Int32Array
  private readonly promoLift: Float32Array

  private readonly flags: Uint8Array
  private readonly onHand: Int32Array
  private readonly reorderAt: Int32Array
  private readonly orderSize: Int32Array
  /** The day of the next thing to happen to the item's order (see STAGE_*), or NONE when none is open. */
  private readonly arrivalDay: Int32Array
  private readonly arrivalQuantity: Int32Array
  private readonly arrivalStage: Uint8Array
  /** The open order's number (its order_id), or NONE when the buyer does not announce orders. */
  private readonly orderNumber: Int32Array
  private readonly orderDay: Int32Array
  private readonly nextCountDay: Int32Array

  private readonly today = new DayBuffer()
  private todayMs = 0

  /** `demandFactor` multiplies the calibrated demand (a small run that would outlast its window). */
  constructor(options: GenerateOptions, ids: IdSource, demandFactor = 1) {
    this.items = new ItemTable(options.skus, options.warehouses, options.seed)
    this.rng = new Random(options.seed, 2)
    this.ids = ids
    this.historyDays = options.days
    this.startDay = parseStartDay(options.start) as number
    this.scale = calibrateDemandScale(this.items, options.events, options.days) * demandFactor
    this.skuWidth = Math.max(5, String(options.skus).length)
    const warehouseWidth = Math.max(2, String(options.warehouses).length)
    this.warehouseNames = Array.from(
      { length: options.warehouses },
      (_, w) => `WH-${String(w + 1).padStart(warehouseWidth, '0')}`,
    )
    this.orderPrefix = `PO-${options.seed}-`
    const n = this.items.count
    this.bucketNext = new Int32Array(n)
    this.nextCandidate = new Float64Array(n)
    this.envelope = new Float64Array(n)
    this.envelopeEnd = new Int32Array(n) // 0: every item plans its envelope on day 0
    this.promoStart = new Int32Array(n)
    this.promoEnd = new Int32Array(n).fill(NONE)
    this.promoLift = new Float32Array(n)
    this.flags = new Uint8Array(n)
    this.onHand = new Int32Array(n)
    this.reorderAt = new Int32Array(n)
    this.orderSize = new Int32Array(n)
    this.arrivalDay = new Int32Array(n).fill(NONE)
    this.arrivalQuantity = new Int32Array(n)
    this.arrivalStage = new Uint8Array(n)
    this.orderNumber = new Int32Array(n).fill(NONE)
    this.orderDay = new Int32Array(n)
    this.nextCountDay = new Int32Array(n)
    // Promotions are planned from a random point before the history, so some run on day 0.
    for (let item = n - 1; item >= 0; item--) {
      this.schedulePromotion(item, -this.rng.int(0, 80))
      this.insert(item, 0)
    }
  }

  /** Simulates the next day and returns its event count; read the events in time order with recordAt and timeAt. */
  nextDay(): number {
    const day = this.day++
    this.today.clear()
    this.todayMs = (this.startDay + day) * MS_PER_DAY
    const bucket = day % RING_DAYS
    let item = this.bucketHead[bucket] as number
    this.bucketHead[bucket] = NONE
    while (item !== NONE) {
      const following = this.bucketNext[item] as number
      this.simulateItemDay(item, day)
      item = following
    }
    this.today.sort()
    return this.today.length
  }

  /** Event time (epoch ms) of the day's event at a position in time order. */
  timeAt(position: number): number {
    return this.todayMs + this.today.secondAt(position) * 1000
  }

  /**
   * The day's event at a position in time order, as a wire record. Records are built (and
   * ids handed out) only here, as the stream reaches them.
   */
  recordAt(position: number): EventRecord {
    const today = this.today
    const slot = today.slotAt(position)
    const item = today.itemOf(slot)
    const warehouse = this.items.warehouseIndex(item)
    const ms = this.timeAt(position)
    const order = today.orderOf(slot)
    // Every record has every field, undefined when absent (JSON leaves it out): records of one
    // shape keep the serialiser's property reads fast, as fields come in many combinations.
    return {
      event_id: this.ids.next(),
      event_type: today.typeOf(slot),
      sku: `SKU-${String(this.items.skuIndex(item) + 1).padStart(this.skuWidth, '0')}`,
      warehouse_id: this.warehouseNames[warehouse] as string,
      quantity: today.quantityOf(slot),
      timestamp: today.isEpochMs(slot) ? ms : formatInZone(ms, zoneOfWarehouse(warehouse)),
      on_hand: today.onHandOf(slot),
      lead_time_days: today.leadTimeOf(slot),
      order_id: order === NONE ? undefined : this.orderPrefix + order,
      expected_at: this.expectedAt(ms, today.expectedDaysOf(slot), warehouse),
    }
  }

  /** A purchase order's expected_at, in the warehouse's zone; left out past SPEC §2's last year. */
  private expectedAt(ms: number, days: number, warehouse: number): string | undefined {
    const expectedMs = ms + days * MS_PER_DAY
    if (days === 0 || expectedMs >= END_OF_2099_MS) return undefined
    return formatInZone(expectedMs, zoneOfWarehouse(warehouse))
  }

  private insert(item: number, day: number): void {
    const bucket = day % RING_DAYS
    this.bucketNext[item] = this.bucketHead[bucket] as number
    this.bucketHead[bucket] = item
  }

  private simulateItemDay(item: number, day: number): void {
    if (!this.isStarted(item) && day < this.listingDay(item)) {
      // Not listed yet: sleep towards the listing day (the calendar reaches only RING_DAYS ahead).
      this.insert(item, Math.min(this.listingDay(item), day + RING_DAYS - 1))
      return
    }
    if (day > (this.promoEnd[item] as number)) this.schedulePromotion(item, day)
    if (day >= (this.envelopeEnd[item] as number)) this.planEnvelope(item, day)
    if (this.isStarted(item) && day >= (this.nextCountDay[item] as number)) this.cycleCount(item, day)
    // Deliveries and supplier news come in office hours, between the day's sales.
    let orderNewsAt =
      this.arrivalDay[item] === day ? DELIVERY_FROM + this.rng.int(0, DELIVERY_SPAN - 1) : NONE
    const rate = this.demandRate(item, day)
    const envelope = this.envelope[item] as number
    let t = this.nextCandidate[item] as number
    // Thinning: candidates come at the envelope rate, each kept with probability rate / envelope.
    while (t < day + 1) {
      if (this.rng.next() * envelope < rate) {
        const second = SALES_FROM + Math.floor((t - day) * SALES_SPAN)
        if (orderNewsAt !== NONE && orderNewsAt <= second) {
          this.orderNews(item, day, orderNewsAt)
          orderNewsAt = NONE
        }
        this.demandEvent(item, day, second)
      }
      t += this.rng.exponential(envelope)
    }
    if (orderNewsAt !== NONE) this.orderNews(item, day, orderNewsAt)
    this.nextCandidate[item] = t
    this.insert(item, this.nextWakeDay(item, day))
  }

  /** The first day of a new listing's demand (0 for items listed before the history). */
  private listingDay(item: number): number {
    return Math.floor((this.items.listedAt[item] as number) * this.historyDays)
  }

  /** The earliest day anything can happen to the item: a demand candidate, a new envelope, a delivery, a count. */
  private nextWakeDay(item: number, day: number): number {
    let wake = Math.min(Math.floor(this.nextCandidate[item] as number), this.envelopeEnd[item] as number)
    const arrival = this.arrivalDay[item] as number
    if (arrival !== NONE && arrival < wake) wake = arrival
    if (this.isStarted(item) && (this.nextCountDay[item] as number) < wake)
      wake = this.nextCountDay[item] as number
    return Math.max(wake, day + 1)
  }

  /** Demand events per day for the item on a given day. */
  private demandRate(item: number, day: number): number {
    const promo = day >= (this.promoStart[item] as number) && day <= (this.promoEnd[item] as number)
    return (
      this.scale *
      (this.items.popularity[item] as number) *
      weekdayFactor(this.items, item, this.startDay + day) *
      trendFactor(this.items, item, day, this.historyDays) *
      (promo ? (this.promoLift[item] as number) : 1)
    )
  }

  /**
   * Sets an upper bound of the demand rate for the coming days (thinning needs one), and draws
   * the first candidate from today. Redrawing is sound: the envelope ends on a day fixed in
   * advance, and a Poisson process has no memory.
   */
  private planEnvelope(item: number, day: number): void {
    const base =
      this.scale * (this.items.popularity[item] as number) * (1 + (this.items.weekendLift[item] as number))
    const longEnd = day + FLAT_REPLAN_DAYS
    const longTrend = this.maxTrend(item, day, longEnd)
    if (base * longTrend * PROMO_MAX_LIFT * FLAT_REPLAN_DAYS < SPARSE_CANDIDATES) {
      // A slow mover: a loose bound that covers any promotion is cheaper than waking at every promotion edge.
      this.setEnvelope(item, day, longEnd, base * longTrend * PROMO_MAX_LIFT)
      return
    }
    let end = (this.items.trendSlope[item] as number) > 0 ? day + RISING_REPLAN_DAYS : longEnd
    const start = this.promoStart[item] as number
    const stop = (this.promoEnd[item] as number) + 1
    if (start > day && start < end) end = start
    if (stop > day && stop < end) end = stop
    const lift = day >= start && day < stop ? (this.promoLift[item] as number) : 1
    this.setEnvelope(item, day, end, base * this.maxTrend(item, day, end) * lift)
  }

  /** The trend is linear (then clamped), so its maximum over [from, to) sits at an end. */
  private maxTrend(item: number, from: number, to: number): number {
    return Math.max(
      trendFactor(this.items, item, from, this.historyDays),
      trendFactor(this.items, item, to - 1, this.historyDays),
    )
  }

  private setEnvelope(item: number, day: number, end: number, envelope: number): void {
    this.envelope[item] = envelope
    this.envelopeEnd[item] = end
    this.nextCandidate[item] = day + this.rng.exponential(envelope)
  }

  /** Plans the item's next promotion after `day`: a gap, then a few days of uplift. */
  private schedulePromotion(item: number, day: number): void {
    const gap = PROMO_MIN_GAP_DAYS + Math.floor(this.rng.exponential(1 / PROMO_MEAN_EXTRA_GAP_DAYS))
    const start = day + 1 + Math.min(gap, RING_DAYS * 8)
    this.promoStart[item] = start
    this.promoEnd[item] = start + this.rng.int(PROMO_MIN_DAYS, PROMO_MAX_DAYS) - 1
    this.promoLift[item] = PROMO_MIN_LIFT + (PROMO_MAX_LIFT - PROMO_MIN_LIFT) * this.rng.next()
  }

  private isStarted(item: number): boolean {
    return ((this.flags[item] as number) & FLAG_STARTED) !== 0
  }

  /** An item enters the stream with a stock count, so on_hand is known from its first event on. */
  private startItem(item: number, day: number): void {
    // The buyer sizes orders from a forecast, not from the truth: some items are over-, some understocked.
    const forecastError = Math.exp(FORECAST_ERROR_SIGMA * this.rng.normal() - FORECAST_ERROR_SIGMA ** 2 / 2)
    const unitsPerDay = expectedUnitsPerDay(this.items, item, this.scale) * forecastError
    const orderSize = orderQuantity(this.items, item, unitsPerDay)
    const reorderAt = reorderPoint(this.items, item, unitsPerDay)
    this.orderSize[item] = orderSize
    this.reorderAt[item] = reorderAt
    // Anywhere in its order cycle, as an (s, Q) policy leaves an item at a random moment.
    this.onHand[item] = reorderAt + this.rng.int(1, orderSize)
    this.flags[item] = FLAG_STARTED
    this.nextCountDay[item] = day + (this.items.cycleDays[item] as number)
    const leadTime = this.rng.chance(COUNT_LEAD_TIME_SHARE)
      ? (this.items.leadTime[item] as number)
      : undefined
    const second = COUNT_FROM + this.rng.int(0, COUNT_SPAN - 1)
    this.emit(item, second, 'stock_count', this.onHand[item] as number, undefined, leadTime)
  }

  /** A periodic count of items that moved; it finds the shrinkage nobody recorded. */
  private cycleCount(item: number, day: number): void {
    this.nextCountDay[item] = day + (this.items.cycleDays[item] as number)
    if (((this.flags[item] as number) & FLAG_SOLD_SINCE_COUNT) === 0) return
    this.flags[item] = FLAG_STARTED
    const unrecordedLoss = this.rng.chance(0.35) ? this.rng.int(1, 3) : 0
    const counted = Math.max(0, (this.onHand[item] as number) - unrecordedLoss)
    this.onHand[item] = counted
    const second = COUNT_FROM + this.rng.int(0, COUNT_SPAN - 1)
    this.emit(item, second, 'stock_count', counted)
    this.reorderIfLow(item, day, second)
  }

  /** One accepted demand candidate: mostly a sale, sometimes a return or an adjustment. */
  private demandEvent(item: number, day: number, second: number): void {
    if (!this.isStarted(item)) this.startItem(item, day)
    const kind = this.rng.next()
    if (kind < RETURN_SHARE) {
      const quantity = 1 + this.rng.geometric(this.items.extraUnitsLogQ[item] as number)
      this.changeStock(item, day, second, 'return', quantity)
    } else if (kind < RETURN_SHARE + SHRINK_SHARE) {
      // Damage or theft that someone noticed: only possible while there is stock.
      const onHand = this.onHand[item] as number
      if (onHand > 0) this.changeStock(item, day, second, 'adjustment', -Math.min(onHand, this.rng.int(1, 3)))
    } else if (kind < RETURN_SHARE + SHRINK_SHARE + FOUND_SHARE) {
      this.changeStock(item, day, second, 'adjustment', this.rng.int(1, 6))
    } else {
      this.sale(item, day, second)
    }
  }

  private sale(item: number, day: number, second: number): void {
    const onHand = this.onHand[item] as number
    let quantity = 1 + this.rng.geometric(this.items.extraUnitsLogQ[item] as number)
    if (onHand <= 0) {
      if (!this.rng.chance(OVERSELL_WHEN_EMPTY)) return // a stockout: the sale does not happen
    } else if (onHand < quantity && !this.rng.chance(OVERSELL_WHEN_SHORT)) {
      quantity = onHand
    }
    this.flags[item] = (this.flags[item] as number) | FLAG_SOLD_SINCE_COUNT
    this.changeStock(item, day, second, 'sale', quantity)
  }

  private changeStock(item: number, day: number, second: number, type: EventType, quantity: number): void {
    const onHand = (this.onHand[item] as number) + (type === 'sale' ? -quantity : quantity)
    this.onHand[item] = onHand
    this.emit(item, second, type, quantity, this.maybeOnHand(type, onHand))
    if (type === 'sale' || quantity < 0) this.reorderIfLow(item, day, second)
  }

  /**
   * Places a replenishment order when stock falls to the reorder point and none is open, announces
   * it when the item's buyer does, and decides now when the supplier will deliver or cancel.
   */
  private reorderIfLow(item: number, day: number, second: number): void {
    if (this.arrivalDay[item] !== NONE || (this.onHand[item] as number) > (this.reorderAt[item] as number))
      return
    const leadTime = this.items.leadTime[item] as number
    // A bigger order after a stockout covers the backlog, in whole cases.
    const backlog = Math.max(0, -(this.onHand[item] as number))
    const pack = this.items.minimumOrder[item] as number
    const quantity = Math.ceil(((this.orderSize[item] as number) + backlog) / pack) * pack
    this.arrivalQuantity[item] = quantity
    this.orderDay[item] = day
    if (this.rng.chance(CANCEL_SHARE)) {
      this.arrivalStage[item] = STAGE_CANCEL
      this.arrivalDay[item] = day + cancelDelayDays(leadTime, this.rng)
    } else {
      this.arrivalStage[item] = STAGE_DELIVERY
      this.arrivalDay[item] = day + Math.max(1, leadTime + deliveryLateness(this.rng))
    }
    const announced = (this.items.announcesOrders[item] as number) === 1
    this.orderNumber[item] = announced ? this.orderCount++ : NONE
    if (announced) this.announceOrder(item, second, quantity, leadTime)
  }

  /** The purchase_order of a new order: the units ordered and, mostly, when they are expected. */
  private announceOrder(item: number, second: number, quantity: number, leadTime: number): void {
    const expectedDays = this.rng.chance(EXPECTED_AT_OMITTED_SHARE) ? 0 : leadTime
    const sentLeadTime = this.rng.chance(ORDER_LEAD_TIME_SHARE) ? leadTime : undefined
    this.emit(item, second, 'purchase_order', quantity, undefined, sentLeadTime)
    this.today.setOrder(this.orderNumber[item] as number, expectedDays)
  }

  /** The open order's day has come: its delivery, the rest of a short one, or its cancellation. */
  private orderNews(item: number, day: number, second: number): void {
    const stage = this.arrivalStage[item] as number
    const quantity = this.arrivalQuantity[item] as number
    this.arrivalDay[item] = NONE
    if (stage === STAGE_CANCEL) this.cancelOrder(item, second)
    else if (stage === STAGE_DELIVERY && this.rng.chance(PARTIAL_SHARE)) this.shortDelivery(item, day, second)
    else this.receive(item, day, second, quantity)
    this.reorderIfLow(item, day, second)
  }

  /** The supplier cannot deliver: an announced order is cancelled with a purchase_order of 0 units. */
  private cancelOrder(item: number, second: number): void {
    const order = this.orderNumber[item] as number
    if (order === NONE) return
    this.emit(item, second, 'purchase_order', 0)
    this.today.setOrder(order, 0)
  }

  /**
   * Only part of the order comes; the rest follows a few days later, or never (and then the buyer
   * sometimes closes the order at what came, so that nothing stays open on the books).
   */
  private shortDelivery(item: number, day: number, second: number): void {
    const ordered = this.arrivalQuantity[item] as number
    const shipped = partialUnits(ordered, this.rng)
    if (shipped === 0) {
      this.receive(item, day, second, ordered)
      return
    }
    this.receive(item, day, second, shipped)
    if (this.rng.chance(REST_LATER_SHARE)) {
      this.arrivalStage[item] = STAGE_REST
      this.arrivalQuantity[item] = ordered - shipped
      this.arrivalDay[item] = day + restDelayDays(this.rng)
      return
    }
    const order = this.orderNumber[item] as number
    if (order !== NONE && this.rng.chance(CLOSE_SHORT_SHARE)) {
      this.emit(item, second + this.rng.int(AMEND_MIN_SECONDS, AMEND_MAX_SECONDS), 'purchase_order', shipped)
      this.today.setOrder(order, 0)
    }
  }

  /** A restock; most receipts of an announced order name it. */
  private receive(item: number, day: number, second: number, quantity: number): void {
    const onHand = (this.onHand[item] as number) + quantity
    this.onHand[item] = onHand
    const leadTime = this.rng.chance(RESTOCK_LEAD_TIME_SHARE)
      ? Math.max(1, day - (this.orderDay[item] as number))
      : undefined
    this.emit(item, second, 'restock', quantity, this.maybeOnHand('restock', onHand), leadTime)
    const order = this.orderNumber[item] as number
    if (order !== NONE && this.rng.chance(RECEIPT_ORDER_ID_SHARE)) this.today.setOrder(order, 0)
  }

  /** Some producers report the resulting stock level; SPEC §2 only allows it when it is not negative. */
  private maybeOnHand(type: EventType, onHand: number): number | undefined {
    return onHand >= 0 && this.rng.chance(ON_HAND_SHARE[type]) ? onHand : undefined
  }

  private emit(
    item: number,
    second: number,
    type: EventType,
    quantity: number,
    onHand?: number,
    leadTime?: number,
  ): void {
    this.today.push(item, type, quantity, second, onHand, leadTime, this.rng.chance(EPOCH_MS_SHARE))
  }
}
