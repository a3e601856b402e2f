// The demand model shared by the simulation and by the calibration that sizes it:
// a base rate per item, shaped by weekday, a linear trend and promotions.
import { clamp, type ItemTable } from './items.ts'
import { PURCHASE_ORDERS_PER_ORDER, RESTOCKS_PER_ORDER } from './orders.ts'

/** Among accepted demand events: returns, shrinkage, found stock; the rest are sales. */
export const RETURN_SHARE = 0.035
export const SHRINK_SHARE = 0.015
export const FOUND_SHARE = 0.005
export const SALE_SHARE = 1 - RETURN_SHARE - SHRINK_SHARE - FOUND_SHARE

/** Promotions: a quiet gap, then a few days of uplift. */
export const PROMO_MIN_GAP_DAYS = 15
export const PROMO_MEAN_EXTRA_GAP_DAYS = 50
export const PROMO_MIN_DAYS = 3
export const PROMO_MAX_DAYS = 10
export const PROMO_MIN_LIFT = 1.4
export const PROMO_MAX_LIFT = 3

const TREND_MIN = 0.2
const TREND_MAX = 3

/** Day of week of a UTC day number: 0 = Sunday … 6 = Saturday (1970-01-01 was a Thursday). */
export function dayOfWeek(utcDay: number): number {
  return (((utcDay + 4) % 7) + 7) % 7
}

export function weekdayFactor(items: ItemTable, item: number, utcDay: number): number {
  const weekday = dayOfWeek(utcDay)
  return weekday === 0 || weekday === 6 ? 1 + (items.weekendLift[item] as number) : 1
}

/** The linear trend, anchored at 1 on the first day; it keeps going (clamped) past the nominal history. */
export function trendFactor(items: ItemTable, item: number, day: number, historyDays: number): number {
  return clamp(1 + ((items.trendSlope[item] as number) * day) / historyDays, TREND_MIN, TREND_MAX)
}

/** The average of weekday × trend × promotion over the history, used only to size demand up front. */
function averageMultiplier(items: ItemTable, item: number): number {
  const weekly = 1 + ((items.weekendLift[item] as number) * 2) / 7
  const trend = clamp(1 + (items.trendSlope[item] as number) / 2, TREND_MIN, TREND_MAX)
  const promoDays = (PROMO_MIN_DAYS + PROMO_MAX_DAYS) / 2
  const promoShare = promoDays / (PROMO_MIN_GAP_DAYS + PROMO_MEAN_EXTRA_GAP_DAYS + promoDays)
  const promo = 1 + promoShare * ((PROMO_MIN_LIFT + PROMO_MAX_LIFT) / 2 - 1)
  return weekly * trend * promo
}

/** How many units one replenishment order brings, sized from the expected daily demand. */
export function orderQuantity(items: ItemTable, item: number, unitsPerDay: number): number {
  return Math.max(
    items.minimumOrder[item] as number,
    Math.ceil(unitsPerDay * (items.coverDays[item] as number)),
  )
}

/** Stock level at which an order is placed: demand over the lead time plus a safety margin. */
export function reorderPoint(items: ItemTable, item: number, unitsPerDay: number): number {
  const safetyDays = (items.safetyTenths[item] as number) / 10
  // Below half a unit of demand over the lead time, buyers reorder only when the shelf is empty.
  return Math.round(unitsPerDay * ((items.leadTime[item] as number) + safetyDays))
}

/** Expected units sold per day at the item's average demand level. */
export function expectedUnitsPerDay(items: ItemTable, item: number, scale: number): number {
  return (
    scale *
    (items.popularity[item] as number) *
    averageMultiplier(items, item) *
    SALE_SHARE *
    (items.unitsPerSale[item] as number)
  )
}

/**
 * Expected output lines of one item over the history for a given demand scale: its demand
 * events, plus the stock counts, purchase orders and restocks that activity brings along. An
 * approximation; the stream still ends at exactly the requested number of lines.
 */
function expectedItemEvents(items: ItemTable, item: number, scale: number, historyDays: number): number {
  // A new listing sells only from its listing day on.
  const listedDays = historyDays * (1 - (items.listedAt[item] as number))
  const demandEvents =
    scale * (items.popularity[item] as number) * averageMultiplier(items, item) * listedDays
  const started = 1 - Math.exp(-demandEvents)
  const sales = demandEvents * SALE_SHARE
  const cycle = items.cycleDays[item] as number
  // A cycle count happens only when something sold since the previous one.
  const cycleCounts = (listedDays / cycle) * (1 - Math.exp((-sales * cycle) / listedDays))
  const unitsPerDay = expectedUnitsPerDay(items, item, scale)
  const orders = (unitsPerDay * listedDays) / orderQuantity(items, item, unitsPerDay)
  // The last order is often still on its way; slow movers, though, reach the reorder point by chance too.
  const restocks = Math.max(orders - 0.5, orders / 2) * RESTOCKS_PER_ORDER
  const purchaseOrders = (items.announcesOrders[item] as number) * orders * PURCHASE_ORDERS_PER_ORDER
  return demandEvents * KEPT_DEMAND_SHARE + started * (1 + cycleCounts + restocks + purchaseOrders)
}

const CALIBRATION_SAMPLE = 20_000
/** Some demand is lost to stockouts (and shrinkage needs stock), measured at about 8%. */
const KEPT_DEMAND_SHARE = 0.92

/** Finds the global demand scale at which the items produce about `targetEvents` lines over the history. */
export function calibrateDemandScale(items: ItemTable, targetEvents: number, historyDays: number): number {
  if (targetEvents <= 0) return 1
  const sampled = calibrationSample(items)
  const weight = items.count / sampled.length
  const total = (scale: number) => {
    let sum = 0
    for (const item of sampled) sum += expectedItemEvents(items, item, scale, historyDays)
    return sum * weight
  }
  // The total grows monotonically with the scale: bisect on its logarithm.
  let low = Math.log(1e-12)
  let high = Math.log(1e9)
  for (let step = 0; step < 80; step++) {
    const middle = (low + high) / 2
    if (total(Math.exp(middle)) < targetEvents) low = middle
    else high = middle
  }
  return Math.exp((low + high) / 2)
}

/** Whole SKUs spread evenly over the catalogue, each with all its warehouses (they differ in size). */
function calibrationSample(items: ItemTable): number[] {
  const skuCount = Math.min(items.skus, Math.ceil(CALIBRATION_SAMPLE / items.warehouses))
  const sampled: number[] = []
  for (let k = 0; k < skuCount; k++) {
    const sku = Math.floor((k * items.skus) / skuCount)
    for (let warehouse = 0; warehouse < items.warehouses; warehouse++)
      sampled.push(sku * items.warehouses + warehouse)
  }
  return sampled
}
