// The backtest's PostgreSQL source: the history that `consume` (or `replay --sinks postgres`)
// stored. analytics.daily_inventory holds what happened each day and, on the days an item's stream
// stood at, its state at the day's close, from which the predictions are rebuilt exactly as the
// file source makes them. The closes and days read are those that reach into the window or come
// after it (an item first seen after the window still counts among the items, as with files).
import type { Sql, TransactionSql } from 'postgres'
import type { CloseModelRecord, DayClose } from '../core/close.ts'
import { closeModelFromRecord, stateOfClose } from '../core/close.ts'
import { itemKey } from '../core/event.ts'
import { UsageError } from '../errors.ts'
import { requireSchema } from '../postgres/migrations.ts'
import type { BacktestData, ClosePredictor, TrackedItem } from './collect.ts'
import type { Window } from './window.ts'

/**
 * The schema version whose tables and columns the history readers (backtest, `invpipe item`) read:
 * the closes in daily_inventory (migration 8), alert_outbox kept as the alert log (5).
 */
export const HISTORY_SCHEMA_VERSION = 8

/** A close of analytics.daily_inventory as the readers select it (dates as day numbers). */
export interface StoredClose {
  day: number
  on_hand: number | null
  first_day: number
  lead_time_days: number | null
  /** Pairs (day, units sold), as DayClose.sales. */
  sales: number[]
  /** Null in closes stored before risk version 2 (migration 3). */
  model: CloseModelRecord | null
}

interface CloseRow extends StoredClose {
  sku: string
  warehouse_id: string
  /** The item's next close, or null for its latest. */
  next_day: number | null
}

interface DailyRow {
  sku: string
  warehouse_id: string
  day: number
  closing_on_hand: number | null
  stockout: boolean
}

/**
 * Relative bounds count back from `today` (the UTC day number the command passes in). Rows are
 * fetched `cursorRows` at a time, so memory follows the rows in the window, not the whole table.
 */
export async function collectHistory(
  sql: Sql,
  predictor: ClosePredictor,
  today: number,
  cursorRows = 5000,
): Promise<BacktestData> {
  // One snapshot for every read: consume may commit meanwhile, and the closes must match the days.
  const data = await sql.begin('isolation level repeatable read read only', async (tx) => {
    await requireSchema(tx, 'PostgreSQL', 'invpipe backtest', HISTORY_SCHEMA_VERSION)
    const endDay = await latestCloseDay(tx)
    const window = predictor.resolveWindow(today, endDay)
    const daily = await dailyHistories(tx, window, cursorRows)
    await predictClosesOf(tx, predictor, { endDay, window, today, daily, cursorRows })
    return predictor.finish(endDay, today)
  })
  return data as BacktestData
}

/** Every close that reaches into the window or after it, item by item, into the predictor. */
async function predictClosesOf(
  sql: TransactionSql,
  predictor: ClosePredictor,
  read: { endDay: number; window: Window; today: number; daily: Map<string, number[]>; cursorRows: number },
): Promise<void> {
  let item: TrackedItem | null = null
  for await (const rows of sql<CloseRow[]>`
    SELECT sku, warehouse_id, day, next_day, close_on_hand AS on_hand, first_date - date '1970-01-01' AS first_day,
      lead_time_days, sales, model
    FROM (
      SELECT *, date - date '1970-01-01' AS day,
        lead(date) OVER (PARTITION BY sku, warehouse_id ORDER BY date) - date '1970-01-01' AS next_day
      FROM analytics.daily_inventory WHERE sales IS NOT NULL
    ) AS c
    WHERE next_day IS NULL OR next_day > ${read.window.since}
    ORDER BY sku, warehouse_id, day`.cursor(read.cursorRows)) {
    for (const row of rows) {
      const key = itemKey(row.sku, row.warehouse_id)
      if (item?.key !== key) item = predictor.addItem(key, read.daily.get(key) ?? [])
      const through = row.next_day === null ? read.endDay : row.next_day - 1
      predictor.closeDays(item, stateOfClose(closeOfRow(key, row)), through, read.today)
    }
  }
}

/** E: the latest day any item's stream reached. */
async function latestCloseDay(sql: TransactionSql): Promise<number> {
  const [row] = await sql<{ end_day: number | null }[]>`
    SELECT max(date) - date '1970-01-01' AS end_day FROM analytics.daily_inventory WHERE sales IS NOT NULL`
  if (row?.end_day == null) {
    throw new UsageError(
      'no history in PostgreSQL: analytics.daily_inventory holds no day closes (run `invpipe consume`, or `invpipe replay FILE --sinks postgres`, first), or name event files',
    )
  }
  return row.end_day
}

/**
 * Each item's daily history as triples (day, close or NaN, stockout 0/1): the days after the
 * window opens, and the latest day before, whose close carries forward.
 */
async function dailyHistories(
  sql: TransactionSql,
  window: Window,
  cursorRows: number,
): Promise<Map<string, number[]>> {
  const histories = new Map<string, number[]>()
  for await (const rows of sql<DailyRow[]>`
    SELECT sku, warehouse_id, day, closing_on_hand, stockout
    FROM (
      SELECT sku, warehouse_id, closing_on_hand, stockout, date - date '1970-01-01' AS day,
        lead(date) OVER (PARTITION BY sku, warehouse_id ORDER BY date) - date '1970-01-01' AS next_day
      FROM analytics.daily_inventory
    ) AS d
    WHERE next_day IS NULL OR next_day > ${window.since}
    ORDER BY sku, warehouse_id, day`.cursor(cursorRows)) {
    for (const row of rows) {
      const key = itemKey(row.sku, row.warehouse_id)
      let history = histories.get(key)
      if (history === undefined) {
        history = []
        histories.set(key, history)
      }
      history.push(row.day, row.closing_on_hand ?? Number.NaN, row.stockout ? 1 : 0)
    }
  }
  return histories
}

export function closeOfRow(key: string, row: StoredClose): DayClose {
  return {
    key,
    day: row.day,
    onHand: row.on_hand,
    firstDay: row.first_day,
    leadTimeOverride: row.lead_time_days,
    sales: row.sales,
    ...closeModelFromRecord(row.model),
  }
}
