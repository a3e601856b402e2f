// Day closes as the releases before schema version 8 stored them (a table of their own,
// analytics.daily_close), for the upgrade tests: up to version 6 the sales as two parallel arrays
// (dates, units), at version 7 one JSON array of pairs.
import type { Sql, TransactionSql } from 'postgres'
import { closeModelRecord, type DayClose } from '../../src/core/close.ts'
import { splitItemKey } from '../../src/core/event.ts'
import { type DailyDelta, dailyRecord } from '../../src/core/rows.ts'
import { formatDay } from '../../src/core/time.ts'

/** A close as schema version 7 holds it in analytics.daily_close (dates as YYYY-MM-DD). */
export function closeRecordBefore8(close: DayClose) {
  const [sku, warehouseId] = splitItemKey(close.key)
  return {
    sku,
    warehouse_id: warehouseId,
    date: formatDay(close.day),
    on_hand: close.onHand,
    first_date: formatDay(close.firstDay),
    lead_time_days: close.leadTimeOverride,
    sales: close.sales,
    model: closeModelRecord(close),
  }
}

/** A close as schema versions 2–6 hold it (json_populate_recordset leaves out what a version lacks). */
export function closeRecordBefore7(close: DayClose) {
  const { sales, ...rest } = closeRecordBefore8(close)
  return {
    ...rest,
    sales_dates: sales.filter((_, i) => i % 2 === 0).map(formatDay),
    sales_units: sales.filter((_, i) => i % 2 === 1),
  }
}

/** A close row read at schema 6 or before, as migration 7 should leave it: [day, units, day, units, ...]. */
export function salesAsPairs(row: Record<string, unknown>) {
  const {
    sales_dates: dates,
    sales_units: units,
    ...rest
  } = row as { sales_dates: Date[]; sales_units: number[] }
  return { ...rest, sales: dates.flatMap((date, i) => [date.getTime() / 86_400_000, units[i] as number]) }
}

/** The closes schema 8 holds in analytics.daily_inventory, in the shape of version 7's daily_close rows. */
export function storedCloses(sql: Sql) {
  return sql`
    SELECT sku, warehouse_id, date, close_on_hand AS on_hand, first_date, lead_time_days, sales, model
    FROM analytics.daily_inventory WHERE sales IS NOT NULL ORDER BY sku, warehouse_id, date`
}

/** A commit's daily deltas as every release before schema 8 added them (the day's columns only). */
export async function addDailyBefore8(
  sql: Sql | TransactionSql,
  daily: readonly DailyDelta[],
): Promise<void> {
  if (daily.length === 0) return
  await sql`
    INSERT INTO analytics.daily_inventory AS d
    SELECT * FROM json_populate_recordset(null::analytics.daily_inventory, ${JSON.stringify(daily.map(dailyRecord))}::text::json)
    ON CONFLICT (sku, warehouse_id, date) DO UPDATE SET
      sold = d.sold + excluded.sold, returned = d.returned + excluded.returned,
      received = d.received + excluded.received, adjusted = d.adjusted + excluded.adjusted,
      closing_on_hand = excluded.closing_on_hand, stockout = d.stockout OR excluded.stockout`
}
