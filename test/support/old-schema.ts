// Day closes as the releases before schema version 7 stored them, for the upgrade tests: the sales
// as two parallel arrays (dates, units) instead of one JSON array of pairs.
import { closeRecord, type DayClose } from '../../src/core/close.ts'
import { formatDay } from '../../src/core/time.ts'

/** A close as schema versions 2–6 hold it (json_populate_recordset leaves out what a version lacks). */
export function closeRecordBefore7(close: DayClose) {
  const { sales, ...rest } = closeRecord(close)
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
