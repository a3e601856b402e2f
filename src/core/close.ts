// The close of a day: what the metrics need of an item's state as it stood when the item's stream
// moved past its day D (just before the first arriving event dated after D). Stored by the
// PostgreSQL sink (analytics.daily_close) so that `backtest` can rebuild, from what `consume`
// wrote, the predictions it would have made at each close: the same ones as from the event files.
import { splitItemKey } from './event.ts'
import { ItemState } from './state.ts'
import { formatDay } from './time.ts'

export interface DayClose {
  key: string
  /** D, the item's as-of day. */
  day: number
  onHand: number | null
  firstDay: number
  /** The lead time carried by the item's events (null: the configured default applies). */
  leadTimeOverride: number | null
  /** Pairs (day, units sold) of D − 29 … D, as ItemState.sales; copied, the state moves on. */
  sales: number[]
}

export function closeOf(state: ItemState): DayClose {
  return {
    key: state.key,
    day: state.asOfDay,
    onHand: state.onHand,
    firstDay: state.firstDay,
    leadTimeOverride: state.leadTimeOverride,
    sales: state.sales === null ? [] : state.sales.slice(),
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
  return state
}

/** The analytics.daily_close row (dates as YYYY-MM-DD, the sales as two parallel arrays). */
export function closeRecord(close: DayClose) {
  const [sku, warehouseId] = splitItemKey(close.key)
  const salesDays: string[] = []
  const salesUnits: number[] = []
  for (let i = 0; i < close.sales.length; i += 2) {
    salesDays.push(formatDay(close.sales[i] as number))
    salesUnits.push(close.sales[i + 1] as number)
  }
  return {
    sku,
    warehouse_id: warehouseId,
    date: formatDay(close.day),
    on_hand: close.onHand,
    first_date: formatDay(close.firstDay),
    lead_time_days: close.leadTimeOverride,
    sales_dates: salesDays,
    sales_units: salesUnits,
  }
}
