// The close of a day: what the metrics need of an item's state as it stood when the item's stream
// moved past its day D (just before the first arriving event dated after D). Stored by the
// PostgreSQL sink (in the day's row of analytics.daily_inventory) so that `backtest` can rebuild,
// from what `consume` wrote, the predictions it would have made at each close: the same ones as
// from the event files.
import {
  type Order,
  type OrderJson,
  orderFromJson,
  orderToJson,
  unplannedFromJson,
  unplannedToJson,
} from './orders.ts'
import { restockTriples } from './stalls.ts'
import { ItemState } from './state.ts'

export interface DayClose {
  key: string
  /** D, the item's as-of day. */
  day: number
  onHand: number | null
  firstDay: number
  /** The lead time carried by the item's events (null: the configured default applies). */
  leadTimeOverride: number | null
  /** Pairs (day, units sold) of D − 119 … D, as ItemState.sales; copied, the state moves on. */
  sales: number[]
  /** What the risk model reads beyond the metrics (ItemState's fields of the same names, copied). */
  outDays: number[]
  orders: Order[]
  deliveries: number[]
  unplanned: number[]
  reorders: number[]
  restocks: number[]
  counts: number[]
  returns: number[]
}

export function closeOf(state: ItemState): DayClose {
  return {
    key: state.key,
    day: state.asOfDay,
    onHand: state.onHand,
    firstDay: state.firstDay,
    leadTimeOverride: state.leadTimeOverride,
    sales: state.sales === null ? [] : state.sales.slice(),
    outDays: state.outDays === null ? [] : state.outDays.slice(),
    orders: state.orders === null ? [] : state.orders.map((order) => ({ ...order })),
    deliveries: state.deliveries === null ? [] : state.deliveries.slice(),
    unplanned: state.unplanned === null ? [] : state.unplanned.slice(),
    reorders: state.reorders === null ? [] : state.reorders.slice(),
    restocks: state.restocks === null ? [] : state.restocks.slice(),
    counts: state.counts === null ? [] : state.counts.slice(),
    returns: state.returns === null ? [] : state.returns.slice(),
  }
}

/** An ItemState holding what the metrics read (its ids and alert memory are not kept in a close). */
export function stateOfClose(close: DayClose): ItemState {
  const state = new ItemState(close.key)
  state.onHand = close.onHand
  state.firstDay = close.firstDay
  state.latestTs = close.day * 86_400_000
  state.leadTimeOverride = close.leadTimeOverride
  state.sales = close.sales.length === 0 ? null : close.sales
  state.outDays = close.outDays.length === 0 ? null : close.outDays
  state.orders = close.orders.length === 0 ? null : close.orders
  state.deliveries = close.deliveries.length === 0 ? null : close.deliveries
  state.unplanned = close.unplanned.length === 0 ? null : close.unplanned
  state.reorders = close.reorders.length === 0 ? null : close.reorders
  state.restocks = close.restocks.length === 0 ? null : close.restocks
  state.counts = close.counts.length === 0 ? null : close.counts
  state.returns = close.returns.length === 0 ? null : close.returns
  return state
}

export interface CloseModelRecord {
  outDays: number[]
  /** expectedDay null: a receipt-only entry (NaN in memory). */
  orders: OrderJson[]
  deliveries: number[]
  unplanned: (number | null)[]
  /** Absent in closes stored before they existed. */
  unplannedDaysOut?: number[]
  reorders?: number[]
  /** Pairs (day, finding), in closes stored before restockDays. */
  restocks?: number[]
  /** DayClose.restocks: triples (day, finding, units sold before it). */
  restockDays?: number[]
  counts?: number[]
  returns?: number[]
}

/** What the risk model reads of a close beyond the metrics, as stored (a json column). */
export function closeModelRecord(close: DayClose): CloseModelRecord {
  return {
    outDays: close.outDays,
    orders: close.orders.map(orderToJson),
    deliveries: close.deliveries,
    ...unplannedToJson(close.unplanned),
    reorders: close.reorders,
    restockDays: close.restocks,
    counts: close.counts,
    returns: close.returns,
  }
}

/** The model part of a close read back from analytics.daily_inventory (null: a close stored before risk version 2). */
export function closeModelFromRecord(
  record: CloseModelRecord | null,
): Pick<
  DayClose,
  'outDays' | 'orders' | 'deliveries' | 'unplanned' | 'reorders' | 'restocks' | 'counts' | 'returns'
> {
  if (record === null)
    return {
      outDays: [],
      orders: [],
      deliveries: [],
      unplanned: [],
      reorders: [],
      restocks: [],
      counts: [],
      returns: [],
    }
  return {
    outDays: record.outDays,
    orders: record.orders.map(orderFromJson),
    deliveries: record.deliveries,
    unplanned: unplannedFromJson(record.unplanned ?? [], record.unplannedDaysOut),
    reorders: record.reorders ?? [],
    restocks: record.restockDays ?? restockTriples(record.restocks ?? []),
    counts: record.counts ?? [],
    returns: record.returns ?? [],
  }
}
