// The fixed character of every item (sku × warehouse): how popular it is, how its demand
// moves over the week and over the history, how it is replenished. Kept in typed arrays
// so a million items cost tens of megabytes, not a million objects.
import { ANNOUNCING_SHARE } from './orders.ts'
import { Random } from './random.ts'

/** Share of SKUs that are slow movers: a tiny base demand, so most of their days have no sale. */
const SLOW_MOVER_SHARE = 0.15
const SLOW_MOVER_FACTOR = 0.04
/** Spread of SKU popularity (sigma of the log-normal): a long tail of weak sellers, a few hits. */
const POPULARITY_SIGMA = 1.1
const CASE_SIZES = [4, 6, 6, 10, 12, 12, 24] as const
/** The most safety stock a buyer keeps, in days of demand (u² × this, so mostly less). */
const SAFETY_MAX_DAYS = 14
/** Share of SKUs listed during the history rather than before it, and when (as a share of the history). */
const NEW_LISTING_SHARE = 0.1
const NEW_LISTING_FROM = 0.1
const NEW_LISTING_TO = 0.8
/** A new SKU reaches its warehouses over a few days, not all at once (share of the history). */
const NEW_LISTING_STAGGER = 0.05

export class ItemTable {
  readonly count: number
  readonly skus: number
  readonly warehouses: number
  /** Relative base rate of demand events per day; the simulation multiplies it by a global scale. */
  readonly popularity: Float64Array
  /** Saturday and Sunday demand is (1 + weekendLift) × the weekday level. */
  readonly weekendLift: Float32Array
  /** Relative change of demand from the first to the last day of the nominal history. */
  readonly trendSlope: Float32Array
  /** log(q) of the geometric number of extra units per sale (q = 0: always one unit). */
  readonly extraUnitsLogQ: Float32Array
  /** Mean units per sale, 1 / (1 - q); kept for sizing reorder points. */
  readonly unitsPerSale: Float32Array
  /** The supplier's usual lead time in days. */
  readonly leadTime: Uint8Array
  /** Days of demand one replenishment order covers. */
  readonly coverDays: Uint8Array
  /** Days of demand the buyer keeps beyond the lead time's when reordering (tenths of a day). */
  readonly safetyTenths: Uint8Array
  /** Days between cycle counts. */
  readonly cycleDays: Uint8Array
  /** Smallest order the supplier accepts (a case or a carton), so slow movers are not reordered unit by unit. */
  readonly minimumOrder: Uint8Array
  /** 1: the buyer announces each order with a purchase_order event; 0: restocks just turn up. */
  readonly announcesOrders: Uint8Array
  /** When the item is listed, as a share of the nominal history (0: before it starts); no demand before. */
  readonly listedAt: Float32Array

  constructor(skus: number, warehouses: number, seed: number) {
    this.skus = skus
    this.warehouses = warehouses
    this.count = skus * warehouses
    const n = this.count
    this.popularity = new Float64Array(n)
    this.weekendLift = new Float32Array(n)
    this.trendSlope = new Float32Array(n)
    this.extraUnitsLogQ = new Float32Array(n)
    this.unitsPerSale = new Float32Array(n)
    this.leadTime = new Uint8Array(n)
    this.coverDays = new Uint8Array(n)
    this.safetyTenths = new Uint8Array(n)
    this.cycleDays = new Uint8Array(n)
    this.minimumOrder = new Uint8Array(n)
    this.announcesOrders = new Uint8Array(n)
    this.listedAt = new Float32Array(n)
    this.fill(new Random(seed, 1))
  }

  private fill(rng: Random): void {
    // Bigger warehouses sell more of everything.
    const warehouseSize = Array.from({ length: this.warehouses }, () => 0.5 + rng.next())
    let skuPopularity = 0
    let skuUnits = 1
    let skuLead = 7
    let skuCase = 6
    let skuAnnounces = 1
    let skuListedAt = 0
    for (let i = 0; i < this.count; i++) {
      const warehouse = i % this.warehouses
      if (warehouse === 0) {
        // A SKU's popularity, pack size and supplier are shared by all its warehouses.
        skuPopularity = Math.exp(POPULARITY_SIGMA * rng.normal())
        if (rng.chance(SLOW_MOVER_SHARE)) skuPopularity *= SLOW_MOVER_FACTOR
        skuUnits = 1 + Math.exp(-0.9 + 0.7 * rng.normal())
        skuLead = clamp(Math.round(Math.exp(Math.log(7) + 0.5 * rng.normal())), 1, 60)
        skuCase = rng.pick(CASE_SIZES)
        // Announcing orders is a matter of the supplier's and buyer's systems, so of the SKU.
        skuAnnounces = rng.chance(ANNOUNCING_SHARE) ? 1 : 0
        skuListedAt = rng.chance(NEW_LISTING_SHARE)
          ? NEW_LISTING_FROM + (NEW_LISTING_TO - NEW_LISTING_FROM) * rng.next()
          : 0
      }
      this.popularity[i] =
        skuPopularity * (warehouseSize[warehouse] as number) * Math.exp(0.25 * rng.normal())
      this.weekendLift[i] = 0.1 + 0.5 * rng.next()
      this.trendSlope[i] = clamp(0.3 * rng.normal(), -0.7, 0.9)
      const units = Math.min(skuUnits, 6)
      this.unitsPerSale[i] = units
      this.extraUnitsLogQ[i] = Math.log(1 - 1 / units)
      // Warehouses of one SKU mostly share the supplier, some sit farther away.
      this.leadTime[i] = clamp(skuLead + (rng.chance(0.2) ? rng.int(1, 5) : 0), 1, 60)
      this.coverDays[i] = rng.int(10, 45)
      // Buyers differ: most keep a few days of safety stock, some run lean (and stock out more).
      this.safetyTenths[i] = Math.round(SAFETY_MAX_DAYS * 10 * rng.next() ** 2)
      this.cycleDays[i] = rng.int(21, 42)
      this.minimumOrder[i] = skuCase
      this.announcesOrders[i] = skuAnnounces
      this.listedAt[i] = skuListedAt > 0 ? skuListedAt + NEW_LISTING_STAGGER * rng.next() : 0
    }
  }

  skuIndex(item: number): number {
    return Math.floor(item / this.warehouses)
  }

  warehouseIndex(item: number): number {
    return item % this.warehouses
  }
}

export function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max)
}
