// One item's story from the PostgreSQL history that `consume` (or `replay --sinks postgres`)
// stored, for `invpipe item SKU WAREHOUSE` with no file: the same story the event files give.
//   analytics.daily_inventory  what happened each day (units, closing stock, stockout), and the
//                              item's state at the close of each of its days, from which the
//                              figures at that close are computed again, with the settings given,
//                              exactly as the engine computed them (src/core/close.ts);
//   analytics.processed_metrics  the latest row: when the last event came, how many were applied;
//   analytics.alert_outbox     the alert messages, as sent, byte for byte: those waiting to be sent
//                              and those sent in the last ALERT_LOG_DAYS (schema version 5 keeps
//                              them as the alert log); replay --sinks postgres stores none.
import type { Sql, TransactionSql } from 'postgres'
import { closeOfRow, HISTORY_SCHEMA_VERSION, type StoredClose } from '../backtest/history.ts'
import { type Alert, type AlertStatus, type alertRecord, orderRef, riskReason } from '../core/alerts.ts'
import { type DayClose, stateOfClose } from '../core/close.ts'
import { type CoreConfig, resolveConfig } from '../core/config.ts'
import { itemKey } from '../core/event.ts'
import { computeMetrics } from '../core/metrics.ts'
import { assessRisk, ordersInHorizon, type RiskLevel, riskNotes } from '../core/risk.ts'
import { buildMetricsRow, type MetricsRow } from '../core/rows.ts'
import { dayOf } from '../core/time.ts'
import { UsageError } from '../errors.ts'
import { requireSchema } from '../postgres/migrations.ts'
import { closest } from './cli.ts'
import { type ItemStory, StoryDays } from './item-story.ts'

interface LatestRow {
  last_event_at: Date
  event_count: number
  computed_at: Date
}

/** A day of the history; its close columns are null on a day the item's stream never stood at. */
type DailyRow = { [K in Exclude<keyof StoredClose, 'day'>]: StoredClose[K] | null } & {
  day: number
  sold: number
  returned: number
  received: number
  adjusted: number
  closing_on_hand: number | null
  stockout: boolean
}

type AlertValue = ReturnType<typeof alertRecord>

/** Suggestions looked at when the item is not in the history. */
const CANDIDATES = 1000

/**
 * The item's story from the history in `sql` (`database`: where it is, for messages). One
 * read-only snapshot, so a consume committing meanwhile cannot split a day from its close.
 */
export async function readItemHistory(
  sql: Sql,
  database: string,
  sku: string,
  warehouseId: string,
  core: CoreConfig,
): Promise<ItemStory> {
  const config = resolveConfig(core)
  return sql.begin('isolation level repeatable read read only', async (tx) => {
    await requireSchema(tx, `PostgreSQL ${database}`, 'invpipe item', HISTORY_SCHEMA_VERSION)
    const [latest] = await tx<LatestRow[]>`
      SELECT last_event_at, event_count, computed_at FROM analytics.processed_metrics
      WHERE sku = ${sku} AND warehouse_id = ${warehouseId}`
    const daily = await tx<DailyRow[]>`
      SELECT date - date '1970-01-01' AS day, sold, returned, received, adjusted, closing_on_hand, stockout,
        close_on_hand AS on_hand, first_date - date '1970-01-01' AS first_day, lead_time_days, sales, model
      FROM analytics.daily_inventory WHERE sku = ${sku} AND warehouse_id = ${warehouseId} ORDER BY date`
    const closes = daily.filter((row): row is DailyRow & StoredClose => row.sales !== null)
    // Each message is its own row, in the order the events raised them (the outbox id).
    const messages = await tx<{ value: string }[]>`
      SELECT value FROM analytics.alert_outbox WHERE item_key = ${itemKey(sku, warehouseId)} ORDER BY id`
    if (latest === undefined && daily.length === 0)
      throw new UsageError(await notInHistory(tx, database, sku, warehouseId))

    const days = new StoryDays()
    for (const row of daily) {
      const day = days.at(row.day)
      day.sold = row.sold
      day.returned = row.returned
      day.received = row.received
      day.adjusted = row.adjusted
      day.closingOnHand = row.closing_on_hand
      day.stockout = row.stockout
      day.quiet = false
    }
    const key = itemKey(sku, warehouseId)
    let last: DayClose | null = null
    for (const row of closes) {
      const close = closeOfRow(key, row)
      const risk = assessRisk(stateOfClose(close), config)
      days.at(close.day).row = {
        stockoutRisk: risk.stockoutRisk,
        riskLevel: risk.riskLevel,
        onOrder: risk.onOrder,
        reorderQuantity: risk.reorderQuantity,
        expectedStockoutDate: risk.expectedStockoutDate,
      }
      last = close
    }
    for (const { value } of messages) {
      const alert = alertOfRecord(JSON.parse(value) as AlertValue)
      if (alert.sku === sku && alert.warehouseId === warehouseId) days.at(alert.asOfDay).alerts.push(alert)
    }

    // Where the item stands now: its latest close is its state after its last event (consume
    // rewrites it with every batch that changes the item).
    let final: MetricsRow | null = null
    let reason = ''
    if (last !== null && latest !== undefined) {
      const state = stateOfClose(last)
      const metrics = computeMetrics(state)
      const risk = assessRisk(state, config)
      final = buildMetricsRow(
        sku,
        warehouseId,
        latest.last_event_at.getTime(),
        latest.event_count,
        state.onHand,
        metrics,
        risk,
        latest.computed_at.getTime(),
      )
      reason = riskReason(
        state.onHand,
        risk,
        riskNotes(state, config),
        ordersInHorizon(state, config).map(orderRef),
        metrics.daysOfHistory,
      )
    }
    return {
      sku,
      warehouseId,
      source: { kind: 'postgresql', database },
      linesRead: 0,
      events: latest?.event_count ?? 0,
      duplicates: null,
      days: days.sorted(),
      final,
      reason,
      otherItems: [],
    } satisfies ItemStory
  }) as Promise<ItemStory>
}

/** Why the item has no story: an empty history, or not this item (with the one meant, when close). */
async function notInHistory(
  tx: TransactionSql,
  database: string,
  sku: string,
  warehouseId: string,
): Promise<string> {
  const [any] = await tx`SELECT 1 FROM analytics.processed_metrics LIMIT 1`
  if (any === undefined)
    return `no history in PostgreSQL ${database}: analytics.processed_metrics is empty (run \`invpipe consume\`, or \`invpipe replay FILE --sinks postgres\`, first), or name event files`
  // The likely slips: the SKU at another warehouse, a different case, or a character off near the
  // end of the SKU at the same warehouse. Bounded, so a large history answers at once.
  const prefix = sku.slice(0, Math.max(1, sku.length - 3))
  const candidates = await tx<{ sku: string; warehouse_id: string }[]>`
    SELECT sku, warehouse_id FROM analytics.processed_metrics
    WHERE sku = ${sku} OR lower(sku) = lower(${sku})
      OR (warehouse_id = ${warehouseId} AND starts_with(sku, ${prefix}))
      OR (lower(warehouse_id) = lower(${warehouseId}) AND lower(sku) = lower(${sku}))
    LIMIT ${CANDIDATES}`
  const meant = closest(
    `${sku} ${warehouseId}`,
    candidates.map((c) => `${c.sku} ${c.warehouse_id}`),
  )
  return `no history of ${sku} at ${warehouseId} in PostgreSQL ${database}${meant === null ? '' : ` (did you mean ${meant}?)`}`
}

/** An alert message as sent (alertRecord's JSON) back into the Alert it was made from. */
export function alertOfRecord(record: AlertValue): Alert {
  return {
    alertId: record.alert_id,
    messageId: record.message_id,
    status: record.status as AlertStatus,
    sku: record.sku,
    warehouseId: record.warehouse_id,
    asOfDay: dayOfDate(record.as_of_date),
    eventId: record.event_id,
    eventTs: Date.parse(record.event_timestamp),
    stockoutRisk: record.stockout_risk,
    riskLevel: record.risk_level as RiskLevel,
    onHand: record.on_hand,
    onOrder: record.on_order,
    inventoryPosition: record.inventory_position,
    leadTimeDays: record.lead_time_days,
    expectedDemandLeadTime: record.expected_demand_lead_time,
    expectedStockoutDate:
      record.expected_stockout_date === null ? null : dayOfDate(record.expected_stockout_date),
    daysOfCover: record.days_of_cover,
    reorderPoint: record.reorder_point,
    reorderQuantity: record.reorder_quantity,
    velocity7d: record.velocity_7d,
    velocity30d: record.velocity_30d,
    openOrders: record.open_orders.map((order) => ({
      orderId: order.order_id,
      openQuantity: order.open_quantity,
      expectedDay: dayOfDate(order.expected_date),
    })),
    reason: record.reason,
  }
}

function dayOfDate(date: string): number {
  return dayOf(Date.parse(`${date}T00:00:00Z`))
}
