// The processor: events in, per-item state, and at the end of each batch the rows of the items
// that changed. Alerts are judged after every event, so no result depends on where a batch ends.
import { type Alert, buildAlert, nextEpisodeStep, orderRef, riskReason } from './alerts.ts'
import { closeOf, type DayClose } from './close.ts'
import { type CoreConfig, type ResolvedConfig, resolveConfig } from './config.ts'
import { demandModel } from './demand.ts'
import { type InventoryEvent, itemKey, splitItemKey } from './event.ts'
import { computeMetrics } from './metrics.ts'
import { assessRisk, type KnownRisk, ordersInHorizon, stockoutRisk } from './risk.ts'
import { buildMetricsRow, type DailyDelta, type MetricsRow } from './rows.ts'
import { applyEvent, ItemState, isDuplicate } from './state.ts'
import { dayOf } from './time.ts'

export type Outcome = 'applied' | 'duplicate'

export interface Batch {
  /** One row per item changed in the batch, in the order the items first changed. */
  rows: MetricsRow[]
  /** One delta per (item, day) touched in the batch; empty unless daily tracking is on. */
  daily: DailyDelta[]
  /** In the order the events raised them. */
  alerts: Alert[]
  /** The states of the changed items, as they stand at the end of the batch (for stores that resume). */
  states: ItemState[]
  /**
   * With daily tracking: the day closes the batch settled or moved. A changed item's close of its
   * current day D, as it stands now (a later batch may still move it), the close of every day the
   * item's stream moved past inside the batch. At most one per (item, day).
   */
  closes: DayClose[]
}

/**
 * The note of an item changed in this batch whose risk has not been worked out (its on-hand is
 * unknown): its row computes everything.
 */
const NOTHING_KNOWN: KnownRisk = Object.freeze({})

export interface EngineOptions {
  /** Collect the daily-history deltas and day closes of each batch (for stores that keep the history). */
  trackDaily?: boolean
}

export class Engine {
  readonly config: ResolvedConfig
  private readonly items = new Map<string, ItemState>()
  private readonly trackDaily: boolean
  /** The items changed in this batch; each holds its note in `inBatch` until the batch ends. */
  private changed: ItemState[] = []
  private daily = new Map<string, DailyDelta>()
  private closes: DayClose[] = []
  private alerts: Alert[] = []

  constructor(config: CoreConfig, options: EngineOptions = {}) {
    this.config = resolveConfig(config)
    this.trackDaily = options.trackDaily ?? false
  }

  get itemCount(): number {
    return this.items.size
  }

  /** Applies one accepted event, unless it is a duplicate (SPEC §2), and judges the item's risk. */
  process(event: InventoryEvent): Outcome {
    const key = itemKey(event.sku, event.warehouseId)
    let state = this.items.get(key)
    if (state === undefined) {
      state = new ItemState(key)
      this.items.set(key, state)
    } else if (isDuplicate(state, event.eventId)) {
      return 'duplicate'
    }
    if (this.trackDaily) this.recordClose(state, event)
    applyEvent(state, event, this.config)
    if (state.inBatch === null) {
      state.inBatch = NOTHING_KNOWN
      this.changed.push(state)
    }
    if (this.trackDaily) this.recordDaily(state, event)
    this.judgeAlert(state, event)
    return 'applied'
  }

  /** Ends the batch: the rows of the changed items, stamped with the caller's wall clock. */
  flush(computedAt: number): Batch {
    const rows = this.changed.map((state) => this.rowOf(state, computedAt, state.inBatch ?? NOTHING_KNOWN))
    for (const state of this.changed) state.inBatch = null
    if (this.trackDaily) for (const state of this.changed) this.closes.push(closeOf(state))
    const daily = [...this.daily.values()]
    const batch = { rows, daily, alerts: this.alerts, states: this.changed, closes: this.closes }
    this.changed = []
    this.closes = []
    this.daily = new Map()
    this.alerts = []
    return batch
  }

  /** Puts back states saved earlier (a restart, or a partition taken over from another instance). */
  restore(states: Iterable<ItemState>): void {
    for (const state of states) {
      // A state taken from an engine abandoned mid-batch still carries that batch's note.
      state.inBatch = null
      this.items.set(state.key, state)
    }
  }

  /** The current row of every item, for summaries and final snapshots. */
  *currentRows(computedAt: number): IterableIterator<MetricsRow> {
    for (const state of this.items.values()) yield this.rowOf(state, computedAt)
  }

  /** The sentence that explains an item's current risk (as its alerts' reason), or '' for an unknown item. */
  reasonOf(sku: string, warehouseId: string): string {
    const state = this.items.get(itemKey(sku, warehouseId))
    if (state === undefined) return ''
    const orders = ordersInHorizon(state, this.config).map(orderRef)
    return riskReason(
      state.onHand,
      assessRisk(state, this.config),
      orders,
      computeMetrics(state).daysOfHistory,
    )
  }

  private rowOf(state: ItemState, computedAt: number, known?: KnownRisk): MetricsRow {
    const metrics = computeMetrics(state)
    const risk = assessRisk(state, this.config, state.asOfDay, known)
    const [sku, warehouseId] = splitItemKey(state.key)
    return buildMetricsRow(
      sku,
      warehouseId,
      state.latestTs,
      state.eventCount,
      state.onHand,
      metrics,
      risk,
      computedAt,
    )
  }

  /** SPEC §6: after every event, the item's episode takes its step; a step that speaks sends a message. */
  private judgeAlert(state: ItemState, event: InventoryEvent): void {
    // Without a known on-hand the risk is null: no episode opens, and none moves.
    if (state.onHand === null) {
      state.inBatch = NOTHING_KNOWN
      return
    }
    const before = state.episode
    // With no episode open, a risk known to be below the threshold is all the step needs to know.
    const unlessBelow = before === null || !before.open ? this.config.alertThreshold : 0
    const model = demandModel(state)
    const risk = stockoutRisk(state, this.config, state.asOfDay, unlessBelow, model)
    const exact = unlessBelow === 0 || (risk !== null && risk >= unlessBelow)
    const known = exact ? { model, risk } : { model }
    state.inBatch = known
    const step = nextEpisodeStep(before, risk, state.asOfDay, this.config)
    state.episode = step.episode
    if (step.status === null || step.episode === null) return
    const metrics = computeMetrics(state)
    // A step that speaks had the exact risk.
    const assessment = assessRisk(state, this.config, state.asOfDay, known)
    const orders = ordersInHorizon(state, this.config)
    this.alerts.push(buildAlert(step.status, step.episode, state, event, metrics, assessment, orders))
  }

  /**
   * Takes the close of D when this event moves the item's stream past it, unless the item has not
   * changed yet in this batch: then the close the previous batch stored for D is already final.
   */
  private recordClose(state: ItemState, event: InventoryEvent): void {
    if (state.eventCount > 0 && dayOf(event.ts) > state.asOfDay && state.inBatch !== null)
      this.closes.push(closeOf(state))
  }

  private recordDaily(state: ItemState, event: InventoryEvent): void {
    const day = dayOf(event.ts)
    const slot = `${state.key}|${day}`
    let delta = this.daily.get(slot)
    if (delta === undefined) {
      delta = {
        sku: event.sku,
        warehouseId: event.warehouseId,
        day,
        sold: 0,
        returned: 0,
        received: 0,
        adjusted: 0,
        closingOnHand: null,
        stockout: false,
      }
      this.daily.set(slot, delta)
    }
    if (event.type === 'sale') delta.sold += event.quantity
    else if (event.type === 'return') delta.returned += event.quantity
    else if (event.type === 'restock') delta.received += event.quantity
    else if (event.type === 'adjustment') delta.adjusted += event.quantity
    delta.closingOnHand = state.onHand
    if (state.onHand !== null && state.onHand <= 0) delta.stockout = true
  }
}
