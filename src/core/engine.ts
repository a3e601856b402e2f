// The processor: events in, per-item state, and at the end of each batch the rows of the items
// that changed. Alerts are judged after every event, so no result depends on where a batch ends.
// An item's latest event of the batch is judged at the batch's end, with the risk its row works
// out anyway (the state has not moved since that event); an earlier one is judged when the item's
// next event arrives, before it is applied. The alerts are then put back in the events' order.
import { type Alert, buildAlert, nextEpisodeStep, orderRef, riskReason } from './alerts.ts'
import { closeOf, type DayClose } from './close.ts'
import { type CoreConfig, type ResolvedConfig, resolveConfig } from './config.ts'
import { type InventoryEvent, itemKey, splitItemKey } from './event.ts'
import { computeMetrics, type DemandMetrics } from './metrics.ts'
import { assessRisk, ordersInHorizon, type RiskAssessment, riskNotes, stockoutRisk } from './risk.ts'
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
  /**
   * The states of the changed items, as they stand at the end of the batch (for stores that
   * resume), in the order of `rows`: a row's item is the state at the same index.
   */
  states: ItemState[]
  /**
   * With daily tracking: the day closes the batch settled or moved. A changed item's close of its
   * current day D, as it stands now (a later batch may still move it), the close of every day the
   * item's stream moved past inside the batch. At most one per (item, day).
   */
  closes: DayClose[]
}

/** The engine's note on an item changed in the batch being built (ItemState.inBatch). */
export interface BatchNote {
  /** The item's latest event, its alert step not yet taken. */
  event: InventoryEvent
  /** That event's place in the batch: alerts are sent in the order of the events that raised them. */
  seq: number
  /** With daily tracking: the item's deltas of this batch, one per day (seldom more than two). */
  daily: DailyDelta[] | null
}

interface RaisedAlert {
  seq: number
  alert: Alert
}

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
  /** In the order the (item, day)s were first touched; each is also in its item's BatchNote. */
  private daily: DailyDelta[] = []
  private closes: DayClose[] = []
  private alerts: RaisedAlert[] = []
  /** Events processed in this batch. */
  private seq = 0

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
    const note = state.inBatch
    // The state still stands as the item's previous event left it: that event's alert step now.
    if (note !== null) this.judgeAlert(state, note, this.assessAlertRisk(state))
    if (this.trackDaily) this.recordClose(state, event)
    applyEvent(state, event, this.config)
    if (note === null) {
      state.inBatch = { event, seq: this.seq++, daily: null }
      this.changed.push(state)
    } else {
      note.event = event
      note.seq = this.seq++
    }
    if (this.trackDaily) this.recordDaily(state, state.inBatch as BatchNote, event)
    return 'applied'
  }

  /** Ends the batch: the rows of the changed items, stamped with the caller's wall clock. */
  flush(computedAt: number): Batch {
    const rows = this.changed.map((state) => this.rowAndAlertOf(state, computedAt))
    if (this.trackDaily) for (const state of this.changed) this.closes.push(closeOf(state))
    const daily = this.daily
    // Stable: alerts of one event keep their order.
    const alerts = this.alerts.sort((a, b) => a.seq - b.seq).map((raised) => raised.alert)
    const batch = { rows, daily, alerts, states: this.changed, closes: this.closes }
    this.seq = 0
    this.changed = []
    this.closes = []
    this.daily = []
    this.alerts = []
    return batch
  }

  /** Puts back states saved earlier (a restart, or a partition taken over from another instance). */
  restore(states: Iterable<ItemState>): void {
    for (const state of states) {
      // States are whole only after a batch's end (its last events' alert steps are taken there);
      // one taken from an engine abandoned mid-batch would still carry that batch's note: dropped.
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
      riskNotes(state, this.config),
      orders,
      computeMetrics(state).daysOfHistory,
    )
  }

  /** The item's row; its latest event's alert step, with the row's risk. */
  private rowAndAlertOf(state: ItemState, computedAt: number): MetricsRow {
    const metrics = computeMetrics(state)
    const risk = assessRisk(state, this.config)
    const note = state.inBatch as BatchNote
    this.judgeAlert(state, note, risk.stockoutRisk, { metrics, risk })
    state.inBatch = null
    // The latest event names the item: no split of its key.
    return this.buildRow(state, note.event.sku, note.event.warehouseId, metrics, risk, computedAt)
  }

  private rowOf(state: ItemState, computedAt: number): MetricsRow {
    const [sku, warehouseId] = splitItemKey(state.key)
    return this.buildRow(
      state,
      sku,
      warehouseId,
      computeMetrics(state),
      assessRisk(state, this.config),
      computedAt,
    )
  }

  private buildRow(
    state: ItemState,
    sku: string,
    warehouseId: string,
    metrics: DemandMetrics,
    risk: RiskAssessment,
    computedAt: number,
  ): MetricsRow {
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

  /**
   * The risk an alert step needs for an event whose row will not be built (the item changes again
   * in the batch): with no episode open, a risk known to be below the threshold is enough.
   */
  private assessAlertRisk(state: ItemState): number | null {
    const episode = state.episode
    const unlessBelow = episode === null || !episode.open ? this.config.alertThreshold : 0
    return stockoutRisk(state, this.config, state.asOfDay, unlessBelow)
  }

  /**
   * SPEC §6: the episode of the item takes its step after the noted event; a step that speaks sends
   * a message, built from the `assessed` metrics and risk when the caller has them (only a step
   * that speaks needs them, and it always had the exact risk: a bound is only below the threshold).
   */
  private judgeAlert(
    state: ItemState,
    note: BatchNote,
    risk: number | null,
    assessed?: { metrics: DemandMetrics; risk: RiskAssessment },
  ): void {
    // Without a known on-hand the risk is null: no episode opens, and none moves.
    if (risk === null) return
    const step = nextEpisodeStep(state.episode, risk, state.asOfDay, this.config)
    state.episode = step.episode
    if (step.status === null || step.episode === null) return
    const metrics = assessed?.metrics ?? computeMetrics(state)
    const assessment = assessed?.risk ?? assessRisk(state, this.config)
    const orders = ordersInHorizon(state, this.config)
    const notes = riskNotes(state, this.config)
    const alert = buildAlert(step.status, step.episode, state, note.event, metrics, assessment, notes, orders)
    this.alerts.push({ seq: note.seq, alert })
  }

  /**
   * Takes the close of D when this event moves the item's stream past it, unless the item has not
   * changed yet in this batch: then the close the previous batch stored for D is already final.
   */
  private recordClose(state: ItemState, event: InventoryEvent): void {
    if (state.inBatch !== null && dayOf(event.ts) > state.asOfDay) this.closes.push(closeOf(state))
  }

  /** Found through the item's note, not by a key of (item, day): that key would be a new string per event. */
  private recordDaily(state: ItemState, note: BatchNote, event: InventoryEvent): void {
    const day = dayOf(event.ts)
    note.daily ??= []
    let delta = note.daily.find((known) => known.day === day)
    if (delta === undefined) {
      delta = {
        key: state.key,
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
      note.daily.push(delta)
      this.daily.push(delta)
    }
    if (event.type === 'sale') delta.sold += event.quantity
    else if (event.type === 'return') delta.returned += event.quantity
    else if (event.type === 'restock') delta.received += event.quantity
    else if (event.type === 'adjustment') delta.adjusted += event.quantity
    delta.closingOnHand = state.onHand
    if (state.onHand !== null && state.onHand <= 0) delta.stockout = true
  }
}
