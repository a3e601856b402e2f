// One simulated day's events, held as numbers in typed arrays until they are sorted and
// written: a day can hold a million events (--days 1), and objects would cost ~10× more.
import { EVENT_TYPES, type EventType } from '../core/event.ts'

const TWO_POW_32 = 4294967296
const TYPE_CODE: Record<EventType, number> = Object.fromEntries(
  EVENT_TYPES.map((type, code) => [type, code]),
) as Record<EventType, number>

export class DayBuffer {
  length = 0
  private capacity = 1024
  /** Sort keys: second of day × 2^32 + insertion index, so sorting orders by time, then by insertion. */
  private keys = new Float64Array(this.capacity)
  private item = new Int32Array(this.capacity)
  private type = new Uint8Array(this.capacity)
  private quantity = new Int32Array(this.capacity)
  /** NaN: the event does not carry on_hand. */
  private onHand = new Float64Array(this.capacity)
  /** 0: the event does not carry lead_time_days. */
  private leadTime = new Uint8Array(this.capacity)
  /** 1: the producer sends epoch milliseconds rather than an ISO string. */
  private epochMs = new Uint8Array(this.capacity)
  /** The order a purchase_order or restock carries (its number), or -1 for none. */
  private order = new Int32Array(this.capacity)
  /** Days from the event to a purchase_order's expected_at; 0: no expected_at. */
  private expectedDays = new Uint8Array(this.capacity)

  clear(): void {
    this.length = 0
  }

  push(
    item: number,
    type: EventType,
    quantity: number,
    second: number,
    onHand: number | undefined,
    leadTime: number | undefined,
    epochMs: boolean,
  ): void {
    if (this.length === this.capacity) this.grow()
    const at = this.length++
    this.keys[at] = second * TWO_POW_32 + at
    this.item[at] = item
    this.type[at] = TYPE_CODE[type]
    this.quantity[at] = quantity
    this.onHand[at] = onHand ?? Number.NaN
    this.leadTime[at] = leadTime ?? 0
    this.epochMs[at] = epochMs ? 1 : 0
    this.order[at] = -1
    this.expectedDays[at] = 0
  }

  /** Attaches an order (and, for a purchase_order, its expected arrival) to the event pushed last. */
  setOrder(order: number, expectedDays: number): void {
    const at = this.length - 1
    this.order[at] = order
    this.expectedDays[at] = expectedDays
  }

  /** Orders the events by time of day; afterwards position p means the p-th event in time order. */
  sort(): void {
    this.keys.subarray(0, this.length).sort()
  }

  secondAt(position: number): number {
    return Math.floor((this.keys[position] as number) / TWO_POW_32)
  }

  /** The event at a sorted position, as the index of its slot. */
  slotAt(position: number): number {
    const key = this.keys[position] as number
    return key - Math.floor(key / TWO_POW_32) * TWO_POW_32
  }

  itemOf(slot: number): number {
    return this.item[slot] as number
  }

  typeOf(slot: number): EventType {
    return EVENT_TYPES[this.type[slot] as number] as EventType
  }

  quantityOf(slot: number): number {
    return this.quantity[slot] as number
  }

  onHandOf(slot: number): number | undefined {
    const value = this.onHand[slot] as number
    return Number.isNaN(value) ? undefined : value
  }

  leadTimeOf(slot: number): number | undefined {
    const value = this.leadTime[slot] as number
    return value === 0 ? undefined : value
  }

  isEpochMs(slot: number): boolean {
    return this.epochMs[slot] === 1
  }

  /** The order number, or -1 when the event carries no order_id. */
  orderOf(slot: number): number {
    return this.order[slot] as number
  }

  /** Days to expected_at, or 0 when the event carries none. */
  expectedDaysOf(slot: number): number {
    return this.expectedDays[slot] as number
  }

  private grow(): void {
    this.capacity *= 2
    this.keys = grown(this.keys, new Float64Array(this.capacity))
    this.item = grown(this.item, new Int32Array(this.capacity))
    this.type = grown(this.type, new Uint8Array(this.capacity))
    this.quantity = grown(this.quantity, new Int32Array(this.capacity))
    this.onHand = grown(this.onHand, new Float64Array(this.capacity))
    this.leadTime = grown(this.leadTime, new Uint8Array(this.capacity))
    this.epochMs = grown(this.epochMs, new Uint8Array(this.capacity))
    this.order = grown(this.order, new Int32Array(this.capacity))
    this.expectedDays = grown(this.expectedDays, new Uint8Array(this.capacity))
  }
}

function grown<T extends Float64Array | Int32Array | Uint8Array>(old: T, next: T): T {
  next.set(old as never)
  return next
}
