// An item's state as plain JSON, so `consume` can store it with the batch that produced it and
// restore it after a crash or a rebalance. Infinite sentinels become null in JSON and back.
import { type OrderJson, orderFromJson, orderToJson, unplannedFromJson, unplannedToJson } from './orders.ts'
import { restockTriples } from './stalls.ts'
import { type Episode, ItemState, idHash } from './state.ts'

export interface ItemSnapshot {
  key: string
  onHand: number | null
  firstDay: number
  latestTs: number
  eventCount: number
  leadTimeOverride: number | null
  sales: number[] | null
  /** Pairs (event_id, timestamp): the state's triples without their hashes. */
  recentIds: (string | number)[] | null
  // Added with risk version 2; absent in snapshots stored before it.
  outDays?: number[] | null
  /** Orders with expectedDay NaN (receipt-only) are stored with null. */
  orders?: OrderJson[] | null
  deliveries?: number[] | null
  unplanned?: (number | null)[] | null
  /** Absent in snapshots stored before it existed (read as 0 days). */
  unplannedDaysOut?: number[] | null
  episode?: Episode | null
  /** Absent in snapshots stored before they existed; pairs (day, finding) in those stored before restockDays. */
  restocks?: number[] | null
  /** ItemState.restocks as triples (day, finding, units sold before it); absent before they were kept. */
  restockDays?: number[] | null
  counts?: number[] | null
  reorders?: number[] | null
  returns?: number[] | null
}

export function snapshotOf(state: ItemState): ItemSnapshot {
  return {
    key: state.key,
    onHand: state.onHand,
    firstDay: state.firstDay,
    latestTs: state.latestTs,
    eventCount: state.eventCount,
    leadTimeOverride: state.leadTimeOverride,
    sales: state.sales,
    recentIds: state.recentIds === null ? null : state.recentIds.filter((_, i) => i % 3 !== 0),
    outDays: state.outDays,
    orders: state.orders === null ? null : state.orders.map(orderToJson),
    deliveries: state.deliveries,
    ...(state.unplanned === null
      ? { unplanned: null, unplannedDaysOut: null }
      : unplannedToJson(state.unplanned)),
    episode: state.episode,
    restockDays: state.restocks,
    counts: state.counts,
    reorders: state.reorders,
    returns: state.returns,
  }
}

export function restoreState(snapshot: ItemSnapshot): ItemState {
  const state = new ItemState(snapshot.key)
  state.onHand = snapshot.onHand
  state.firstDay = snapshot.firstDay
  state.latestTs = snapshot.latestTs
  state.eventCount = snapshot.eventCount
  state.leadTimeOverride = snapshot.leadTimeOverride
  state.sales = snapshot.sales
  state.recentIds = snapshot.recentIds === null ? null : withHashes(snapshot.recentIds)
  state.outDays = snapshot.outDays ?? null
  state.orders = snapshot.orders == null ? null : snapshot.orders.map(orderFromJson)
  state.deliveries = snapshot.deliveries ?? null
  state.unplanned =
    snapshot.unplanned == null ? null : unplannedFromJson(snapshot.unplanned, snapshot.unplannedDaysOut)
  state.episode = snapshot.episode ?? null
  state.restocks =
    snapshot.restockDays !== undefined
      ? snapshot.restockDays
      : snapshot.restocks == null
        ? null
        : restockTriples(snapshot.restocks)
  state.counts = snapshot.counts ?? null
  state.reorders = snapshot.reorders ?? null
  state.returns = snapshot.returns ?? null
  return state
}

function withHashes(pairs: (string | number)[]): (string | number)[] {
  const triples: (string | number)[] = []
  for (let i = 0; i < pairs.length; i += 2) {
    const id = pairs[i] as string
    triples.push(idHash(id), id, pairs[i + 1] as number)
  }
  return triples
}
