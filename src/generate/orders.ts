// How suppliers and buyers behave around a replenishment order: whether it is announced with a
// purchase_order (SPEC §2), how late or early it comes, whether it comes whole, in two parts or
// not at all. Shared by the simulation and by the calibration that sizes the stream.
import type { Random } from './random.ts'

/** Share of SKUs whose buyer announces every order; the others' restocks just turn up. */
export const ANNOUNCING_SHARE = 0.75
/** An announced order sometimes leaves expected_at out, so the item's lead time decides. */
export const EXPECTED_AT_OMITTED_SHARE = 0.2
/** Some ERPs send the supplier's lead time along with the order. */
export const ORDER_LEAD_TIME_SHARE = 0.25
/** A receipt of an announced order names it, unless the goods-in clerk skipped the field. */
export const RECEIPT_ORDER_ID_SHARE = 0.9

/** The supplier cancels a few orders before shipping; the buyer then orders again. */
export const CANCEL_SHARE = 0.03
/** About one delivery in ten is short: 40–90 % of the units ordered. */
export const PARTIAL_SHARE = 0.1
const PARTIAL_MIN = 0.4
const PARTIAL_MAX = 0.9
/** The rest of a short delivery follows a few days later about half the time; otherwise never. */
export const REST_LATER_SHARE = 0.5
const REST_MIN_DAYS = 2
const REST_MAX_DAYS = 10
/** When the rest never comes, the buyer sometimes closes the order at what arrived (an amended purchase_order). */
export const CLOSE_SHORT_SHARE = 0.5

/**
 * Days between the expected and the actual arrival: mostly on time or a day either way, sometimes
 * several days late (or a little early), rarely weeks late. At most 45, so that an arrival stays
 * inside the simulation's 128-day calendar with a 60-day lead time.
 */
export function deliveryLateness(rng: Random): number {
  const u = rng.next()
  if (u < 0.62) return 0
  if (u < 0.74) return -1
  if (u < 0.86) return 1
  if (u < 0.88) return -rng.int(2, 3)
  if (u < 0.96) return rng.int(2, 5)
  if (u < 0.99) return rng.int(6, 14)
  return rng.int(15, 45)
}

/** Units of a short delivery; 0 when the order is too small to split. */
export function partialUnits(ordered: number, rng: Random): number {
  if (ordered < 2) return 0
  const share = PARTIAL_MIN + (PARTIAL_MAX - PARTIAL_MIN) * rng.next()
  return Math.min(ordered - 1, Math.max(1, Math.round(ordered * share)))
}

/** Day offset at which the rest of a short delivery arrives. */
export function restDelayDays(rng: Random): number {
  return rng.int(REST_MIN_DAYS, REST_MAX_DAYS)
}

/** Day offset, from the order, at which the supplier says it cannot deliver (within the lead time). */
export function cancelDelayDays(leadTime: number, rng: Random): number {
  return rng.int(1, Math.max(1, leadTime - 1))
}

/** Expected restock lines per order (a short delivery whose rest comes later is two). */
export const RESTOCKS_PER_ORDER = (1 - CANCEL_SHARE) * (1 + PARTIAL_SHARE * REST_LATER_SHARE)

/** Expected purchase_order lines per announced order: the order, a cancellation, a close-short amendment. */
export const PURCHASE_ORDERS_PER_ORDER =
  1 + CANCEL_SHARE + (1 - CANCEL_SHARE) * PARTIAL_SHARE * (1 - REST_LATER_SHARE) * CLOSE_SHORT_SHARE
