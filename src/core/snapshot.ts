// An item's state as plain JSON, so `consume` can store it with the batch that produced it and
// restore it after a crash or a rebalance. Infinite sentinels become null in JSON and back.
import { ItemState } from './state.ts'

export interface ItemSnapshot {
  key: string
  onHand: number | null
  firstDay: number
  latestTs: number
  eventCount: number
  leadTimeOverride: number | null
  lastAlertDay: number | null
  sales: number[] | null
  recentIds: (string | number)[] | null
}

export function snapshotOf(state: ItemState): ItemSnapshot {
  return {
    key: state.key,
    onHand: state.onHand,
    firstDay: state.firstDay,
    latestTs: state.latestTs,
    eventCount: state.eventCount,
    leadTimeOverride: state.leadTimeOverride,
    lastAlertDay: Number.isFinite(state.lastAlertDay) ? state.lastAlertDay : null,
    sales: state.sales,
    recentIds: state.recentIds,
  }
}

export function restoreState(snapshot: ItemSnapshot): ItemState {
  const state = new ItemState(snapshot.key)
  state.onHand = snapshot.onHand
  state.firstDay = snapshot.firstDay
  state.latestTs = snapshot.latestTs
  state.eventCount = snapshot.eventCount
  state.leadTimeOverride = snapshot.leadTimeOverride
  state.lastAlertDay = snapshot.lastAlertDay ?? Number.NEGATIVE_INFINITY
  state.sales = snapshot.sales
  state.recentIds = snapshot.recentIds
  return state
}
