// SPEC §6 (version 2): alerts follow episodes. An episode opens (raised) when the risk reaches
// ALERT_THRESHOLD, sends `escalated` when the risk level rises above the highest it reported and
// `reminder` every ALERT_REPEAT_DAYS as-of days, and closes (resolved) when the risk falls below
// ALERT_RESOLVE_THRESHOLD. The episode lives in the item's state, so the messages are a pure
// function of the item's event sequence.
import type { ResolvedConfig } from './config.ts'
import type { InventoryEvent } from './event.ts'
import type { DemandMetrics } from './metrics.ts'
import { type Order, openQuantity } from './orders.ts'
import { RISK_LEVELS, type RiskAssessment, type RiskLevel, type RiskNotes, riskLevel } from './risk.ts'
import type { Episode, ItemState } from './state.ts'
import { formatDay } from './time.ts'

export const ALERT_STATUSES = ['raised', 'escalated', 'reminder', 'resolved'] as const
export type AlertStatus = (typeof ALERT_STATUSES)[number]

export interface OpenOrderRef {
  orderId: string
  openQuantity: number
  /** Day number. */
  expectedDay: number
}

export interface Alert {
  /** `{sku}:{warehouse_id}:{day the episode opened}`: stable, so a re-sent alert carries the same id. */
  alertId: string
  /** `{alert_id}:{n}`, n = 1, 2, … within the episode. */
  messageId: string
  status: AlertStatus
  sku: string
  warehouseId: string
  asOfDay: number
  eventId: string
  eventTs: number
  stockoutRisk: number
  riskLevel: RiskLevel
  onHand: number
  onOrder: number
  inventoryPosition: number
  leadTimeDays: number
  expectedDemandLeadTime: number
  expectedStockoutDate: number | null
  daysOfCover: number | null
  reorderPoint: number
  reorderQuantity: number
  velocity7d: number
  velocity30d: number
  openOrders: OpenOrderRef[]
  reason: string
}

export function orderRef(order: Order): OpenOrderRef {
  return { orderId: order.id, openQuantity: openQuantity(order), expectedDay: order.expectedDay }
}

export function alertId(sku: string, warehouseId: string, openedDay: number): string {
  return `${sku}:${warehouseId}:${formatDay(openedDay)}`
}

/**
 * The message the episode calls for after an event with this risk, if any, and the item's episode
 * afterwards (SPEC §6); a message belongs to the returned episode, numbered by its `messages`.
 * Pure: the caller stores the returned episode.
 *
 * SPEC §6 names an episode by the day it opened, so a second episode opening on the day the first
 * did would repeat the first's message ids; it continues the first's numbering instead (its
 * `raised` is then `{alert_id}:{n + 1}`), which keeps every message_id unique.
 */
export function nextEpisodeStep(
  episode: Episode | null,
  risk: number | null,
  asOfDay: number,
  config: ResolvedConfig,
): { status: AlertStatus | null; episode: Episode | null } {
  if (risk === null) return { status: null, episode }
  const level = RISK_LEVELS.indexOf(riskLevel(risk))
  if (episode === null || !episode.open) {
    if (risk < config.alertThreshold) return { status: null, episode }
    const sameDay = episode !== null && episode.openedDay === asOfDay
    return {
      status: 'raised',
      episode: {
        open: true,
        openedDay: asOfDay,
        messages: sameDay ? episode.messages + 1 : 1,
        highestLevel: level,
        lastMessageDay: asOfDay,
      },
    }
  }
  if (risk < config.alertResolveThreshold)
    return { status: 'resolved', episode: { ...sent(episode, asOfDay, episode.highestLevel), open: false } }
  if (level > episode.highestLevel) return { status: 'escalated', episode: sent(episode, asOfDay, level) }
  if (config.alertRepeatDays > 0 && asOfDay - episode.lastMessageDay >= config.alertRepeatDays)
    return { status: 'reminder', episode: sent(episode, asOfDay, episode.highestLevel) }
  return { status: null, episode }
}

function sent(episode: Episode, asOfDay: number, highestLevel: number): Episode {
  return { ...episode, messages: episode.messages + 1, highestLevel, lastMessageDay: asOfDay }
}

/** The message of an episode step, numbered by the episode's message count. */
export function buildAlert(
  status: AlertStatus,
  episode: Episode,
  state: ItemState,
  event: InventoryEvent,
  metrics: DemandMetrics,
  risk: RiskAssessment,
  notes: RiskNotes,
  orders: readonly Order[],
): Alert {
  const id = alertId(event.sku, event.warehouseId, episode.openedDay)
  const onHand = state.onHand as number
  const openOrders = orders.map(orderRef)
  return {
    alertId: id,
    messageId: `${id}:${episode.messages}`,
    status,
    sku: event.sku,
    warehouseId: event.warehouseId,
    asOfDay: metrics.asOfDay,
    eventId: event.eventId,
    eventTs: event.ts,
    stockoutRisk: risk.stockoutRisk as number,
    riskLevel: risk.riskLevel,
    onHand,
    onOrder: risk.onOrder,
    inventoryPosition: risk.inventoryPosition as number,
    leadTimeDays: risk.leadTimeDays,
    expectedDemandLeadTime: risk.expectedDemandLeadTime,
    expectedStockoutDate: risk.expectedStockoutDate,
    daysOfCover: risk.daysOfCover,
    reorderPoint: risk.reorderPoint,
    reorderQuantity: risk.reorderQuantity as number,
    velocity7d: metrics.velocity7d,
    velocity30d: metrics.velocity30d,
    openOrders,
    reason: riskReason(onHand, risk, notes, openOrders, metrics.daysOfHistory),
  }
}

/**
 * How the restocks of an item replenished unannounced came: "its last 3 restocks came with
 * about 2 left", and how long the shelf had stood empty before those that found it empty.
 */
function unannouncedClause(unannounced: NonNullable<RiskNotes['unannounced']>, outNow: boolean): string {
  if (unannounced.receipts === 0)
    return `no purchase orders seen: a restock is assumed to come${outNow ? '' : ' before it runs out'}, as for most items`
  const restocks = unannounced.receipts === 1 ? 'restock' : `${unannounced.receipts} restocks`
  // An item that announced orders before but is now restocked without them (a store's special order beside its nightly top-ups).
  const how = unannounced.ordersSeen ? 'restocked of late without purchase orders' : 'no purchase orders seen'
  const empty = unannounced.emptyShelf
  const waited = empty !== null && empty.daysOut >= 1
  const came =
    waited && empty.receipts === unannounced.receipts
      ? `came after about ${days(empty.daysOut)} out of stock`
      : `came ${unannounced.level <= 0.5 ? 'when it had run out' : `with about ${units(unannounced.level)} left`}${waited ? `, ${empty.receipts} of them after about ${days(empty.daysOut)} out of stock` : ''}`
  return `${how}: its last ${restocks} ${came}`
}

/**
 * One sentence a planner can read: stock, demand, what is coming and when it runs out, e.g.
 * "12 on hand, about 3.1 a day; order PO-77 (40) expected 2026-10-03, after the likely stockout on 2026-09-29".
 */
export function riskReason(
  onHand: number | null,
  risk: RiskAssessment,
  notes: RiskNotes,
  orders: readonly OpenOrderRef[],
  daysOfHistory: number,
): string {
  if (onHand === null) return 'on hand unknown: no stock count yet'
  // Returns and write-offs are named once they are a part worth reading (5 % of what sells): the risk
  // counts on the returns coming back and the write-offs going on.
  const returned = Math.round(risk.returnedShare * 100)
  const flow =
    returned >= 5
      ? `, ${returned} % of it coming back as returns`
      : returned <= -5
        ? `, plus ${-returned} % of that written off`
        : ''
  const parts = [`${units(onHand)} on hand, about ${units(risk.demandRate)} a day${flow}`]
  // Books at or below 0 are out now: SPEC §5's expected stockout date (tomorrow) says nothing more.
  const outNow = onHand <= 0
  const out = outNow ? null : risk.expectedStockoutDate
  const unannounced = notes.unannounced
  if (unannounced !== null) parts.push(unannouncedClause(unannounced, outNow))
  else if (orders.length === 0) {
    parts.push(`nothing on order within the ${units(risk.leadTimeDays)}-day lead time`)
    const reorders = notes.reorders
    if (reorders !== null)
      parts.push(
        `its last ${reorders.orders === 1 ? 'order was' : `${reorders.orders} orders were`} placed with about ${units(reorders.level)} on hand and on order and came ${days(reorders.days)} later`,
      )
  }
  for (const order of orders.slice(0, 3)) {
    const when =
      out !== null && order.expectedDay > out ? `, after the likely stockout on ${formatDay(out)}` : ''
    parts.push(
      `order ${order.orderId} (${units(order.openQuantity)}) expected ${formatDay(order.expectedDay)}${when}`,
    )
  }
  if (outNow) parts.push('out of stock now')
  else if (out !== null && !orders.some((order) => order.expectedDay > out))
    parts.push(`likely out of stock on ${formatDay(out)}`)
  const stalls = notes.stalls
  if (stalls !== null)
    parts.push(
      `at ${stalls.restocks === 1 ? 'its last restock' : `${stalls.stalled} of its last ${stalls.restocks} restocks`} it had stopped selling with stock on the books (worth a count)`,
    )
  const packs = notes.packs
  if (packs !== null)
    parts.push(
      `sold only in multiples of ${units(packs.size)}, so the last ${units(packs.leftover)} on the books will not sell (worth a count)`,
    )
  const shrink = notes.shrink
  if (shrink !== null && onHand > 0)
    parts.push(
      `its counts found ${units(shrink.missing)} missing from the books over ${days(shrink.days)}, so part of the stock on the books may not be on the shelf`,
    )
  if (daysOfHistory < 7) parts.push(`only ${daysOfHistory} day${daysOfHistory === 1 ? '' : 's'} of history`)
  return parts.join('; ')
}

/** "1 day", "2.5 days": a number of days as the reason shows it. */
function days(value: number): string {
  const shown = units(value)
  return `${shown} ${shown === '1' ? 'day' : 'days'}`
}

function units(value: number): string {
  if (Number.isInteger(value)) return String(value)
  return Math.abs(value) >= 10 ? value.toFixed(0) : value.toFixed(1)
}

/** The alert's JSON value (SPEC §6) with the wall-clock `generated_at` the sender stamps on it. */
export function alertRecord(alert: Alert, generatedAt: number) {
  return {
    alert_id: alert.alertId,
    message_id: alert.messageId,
    status: alert.status,
    sku: alert.sku,
    warehouse_id: alert.warehouseId,
    as_of_date: formatDay(alert.asOfDay),
    event_id: alert.eventId,
    event_timestamp: new Date(alert.eventTs).toISOString(),
    stockout_risk: alert.stockoutRisk,
    risk_level: alert.riskLevel,
    on_hand: alert.onHand,
    on_order: alert.onOrder,
    inventory_position: alert.inventoryPosition,
    lead_time_days: alert.leadTimeDays,
    expected_demand_lead_time: alert.expectedDemandLeadTime,
    expected_stockout_date:
      alert.expectedStockoutDate === null ? null : formatDay(alert.expectedStockoutDate),
    days_of_cover: alert.daysOfCover,
    reorder_point: alert.reorderPoint,
    reorder_quantity: alert.reorderQuantity,
    velocity_7d: alert.velocity7d,
    velocity_30d: alert.velocity30d,
    open_orders: alert.openOrders.map((order) => ({
      order_id: order.orderId,
      open_quantity: order.openQuantity,
      expected_date: formatDay(order.expectedDay),
    })),
    reason: alert.reason,
    generated_at: new Date(generatedAt).toISOString(),
  }
}
