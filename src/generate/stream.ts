// Turns the simulation's time-ordered events into the stream a consumer would see:
// some events arrive late, some twice, and some lines are garbage. Exactly `events` lines.
import { MS_PER_DAY } from '../core/time.ts'
import { makeMalformedLine } from './malformed.ts'
import { checkGenerateOptions, type GenerateOptions, parseStartDay } from './options.ts'
import { Random } from './random.ts'
import type { EventRecord, GeneratedLine } from './record.ts'
import { IdSource, InventorySimulation } from './simulation.ts'

/** Late events arrive between five minutes and a day and a half after their event time. */
const MIN_LATE_MS = 5 * 60_000
const MAX_LATE_MS = 36 * 3_600_000
/** A duplicate follows its original within this many lines, well inside any dedup window. */
const MAX_DUPLICATE_DISTANCE = 40
/** SPEC §2 ends at the year 2099; a stream that got there (it would take a tiny --events) stops with an error. */
const END_OF_2099_DAY = Date.UTC(2100, 0, 1) / 86_400_000

interface HeldEvent {
  releaseMs: number
  order: number
  record: EventRecord
  ms: number
}

interface PendingDuplicate {
  dueLine: number
  record: EventRecord
  ms: number
}

/**
 * Yields exactly `options.events` lines, deterministic in `options.seed`. Pure: no clock,
 * no I/O, no Math.random. Writers (JSONL, Parquet, Kafka) consume this one stream.
 */
export function* generateEvents(options: GenerateOptions): Generator<GeneratedLine> {
  const problem = checkGenerateOptions(options)
  if (problem !== null) throw new Error(problem)
  if (options.events === 0) return
  yield* simulate(options, demandFactorToFit(options))
}

/** Runs up to this many events are simulated once more, without output, to check they fit their window. */
const CHECKED_UP_TO_EVENTS = 100_000

/**
 * The demand calibration aims at `events` over `days` on average; a small run (a few events over
 * many items) may draw fewer and would go on past its last day. Such a run gets its demand raised
 * until a dry run ends inside the window (it then ends early, which a short run does not notice).
 */
function demandFactorToFit(options: GenerateOptions): number {
  if (options.events > CHECKED_UP_TO_EVENTS) return 1
  let factor = 1
  for (let attempt = 0; attempt < 40; attempt++) {
    let latestMs = 0
    for (const line of simulate(options, factor))
      if (line.kind === 'event') latestMs = Math.max(latestMs, line.ms)
    if (latestMs < ((parseStartDay(options.start) as number) + options.days) * MS_PER_DAY) return factor
    factor *= 1.5
  }
  return factor
}

function* simulate(options: GenerateOptions, demandFactor: number): Generator<GeneratedLine> {
  const ids = new IdSource(options.seed)
  const simulation = new InventorySimulation(options, ids, demandFactor)
  const stage = new DeliveryStage(options, ids)
  // Usually the stream ends near the nominal last day; sparse runs may take a little longer.
  const lastDay = END_OF_2099_DAY - (parseStartDay(options.start) as number) - 1
  for (let day = 0; ; day++) {
    if (day > lastDay) throw new Error(`generate: ${options.events} events did not fit before the year 2100`)
    const count = simulation.nextDay()
    for (let position = 0; position < count; position++) {
      stage.accept(simulation.recordAt(position), simulation.timeAt(position))
      yield* stage.outbox
      stage.outbox.length = 0
      if (stage.full) return
    }
  }
}

/** Applies lateness, duplication and damage, in the order a consumer receives lines. */
class DeliveryStage {
  /** Lines produced by the last accept(); the caller empties it after reading. */
  readonly outbox: GeneratedLine[] = []
  private readonly rng: Random
  private readonly ids: IdSource
  private readonly limit: number
  private readonly malformedRate: number
  private readonly duplicateRate: number
  private readonly lateRate: number
  private readonly held = new MinHeap<HeldEvent>((a, b) => a.releaseMs - b.releaseMs || a.order - b.order)
  private heldCount = 0
  private duplicates: PendingDuplicate[] = []
  private written = 0

  constructor(options: GenerateOptions, ids: IdSource) {
    // Its own random stream: changing the noise rates leaves the simulated events as they were
    // (only the ids shift, as malformed lines take ids from the same counter).
    this.rng = new Random(options.seed, 3)
    this.ids = ids
    this.limit = options.events
    this.malformedRate = options.malformedRate
    this.duplicateRate = options.duplicateRate
    this.lateRate = options.lateRate
  }

  get full(): boolean {
    return this.written >= this.limit
  }

  /** Takes the next event in event-time order; it is written now, or held back to arrive late. */
  accept(record: EventRecord, ms: number): void {
    // The stream clock is this event's time: everything held back until now arrives first.
    while (!this.held.isEmpty() && (this.held.peek() as HeldEvent).releaseMs <= ms && !this.full) {
      const late = this.held.pop() as HeldEvent
      this.send(late.record, late.ms, true)
    }
    if (this.full) return
    if (this.lateRate > 0 && this.rng.chance(this.lateRate)) {
      const delay = MIN_LATE_MS * (MAX_LATE_MS / MIN_LATE_MS) ** this.rng.next()
      this.held.push({ releaseMs: ms + delay, order: this.heldCount++, record, ms })
      return
    }
    this.send(record, ms, false)
  }

  private send(record: EventRecord, ms: number, late: boolean): void {
    this.writeEvent(record, ms, false, late)
    if (!this.full && this.duplicateRate > 0 && this.rng.chance(this.duplicateRate)) {
      const dueLine = this.written + this.rng.int(1, MAX_DUPLICATE_DISTANCE)
      this.duplicates.push({ dueLine, record, ms })
    }
    this.sendDueDuplicates()
  }

  private writeEvent(record: EventRecord, ms: number, duplicate: boolean, late: boolean): void {
    this.writeDamagedLines(record)
    if (!this.full) this.write({ kind: 'event', record, ms, duplicate, late })
  }

  /** Each line slot is garbage with probability malformedRate, so that share of all lines is malformed. */
  private writeDamagedLines(template: EventRecord): void {
    if (this.malformedRate === 0) return
    while (!this.full && this.rng.chance(this.malformedRate)) {
      this.write(makeMalformedLine(template, this.ids.next(), this.rng))
    }
  }

  private sendDueDuplicates(): void {
    let k = 0
    while (k < this.duplicates.length && !this.full) {
      const pending = this.duplicates[k] as PendingDuplicate
      if (pending.dueLine > this.written) {
        k++
        continue
      }
      this.duplicates.splice(k, 1)
      // The same object again: a writer serialises it to exactly the same bytes.
      this.writeEvent(pending.record, pending.ms, true, false)
    }
  }

  private write(line: GeneratedLine): void {
    this.outbox.push(line)
    this.written++
  }
}

/** A small binary heap; the held-back late events are few at any time. */
class MinHeap<T> {
  private readonly items: T[] = []

  constructor(private readonly before: (a: T, b: T) => number) {}

  isEmpty(): boolean {
    return this.items.length === 0
  }

  peek(): T | undefined {
    return this.items[0]
  }

  push(item: T): void {
    const items = this.items
    items.push(item)
    let child = items.length - 1
    while (child > 0) {
      const parent = (child - 1) >> 1
      if (this.before(items[child] as T, items[parent] as T) >= 0) break
      ;[items[child], items[parent]] = [items[parent] as T, items[child] as T]
      child = parent
    }
  }

  pop(): T | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (items.length > 0 && last !== undefined) {
      items[0] = last
      this.siftDown(0)
    }
    return top
  }

  private siftDown(start: number): void {
    const items = this.items
    let parent = start
    for (;;) {
      const left = parent * 2 + 1
      const right = left + 1
      let smallest = parent
      if (left < items.length && this.before(items[left] as T, items[smallest] as T) < 0) smallest = left
      if (right < items.length && this.before(items[right] as T, items[smallest] as T) < 0) smallest = right
      if (smallest === parent) return
      ;[items[parent], items[smallest]] = [items[smallest] as T, items[parent] as T]
      parent = smallest
    }
  }
}
