// The one loop step every command shares (replay, backtest, consume, the tests' analysis): a
// record is validated, an accepted event goes through the processor, and the tally counts the
// outcome. Sources differ only in how a record arrives (a line, a Parquet row, a Kafka message).
import type { Outcome } from './engine.ts'
import { type InventoryEvent, type ParseResult, parseEvent, type Rejection, validateEvent } from './event.ts'
import type { Tally } from './tally.ts'

/** What takes accepted events: the engine, or the backtest's collector around one. */
export interface EventProcessor {
  process(event: InventoryEvent): Outcome
}

/** A record of a file source: a JSON line, or a Parquet row already decoded. Null for a blank line. */
export function parseRecord(record: string | Record<string, unknown>): ParseResult | null {
  if (typeof record !== 'string') return validateEvent(record)
  // Most lines start with '{'; only look closer at the others.
  if (record.charCodeAt(0) !== 123 && record.trim() === '') return null
  return parseEvent(record)
}

/** Processes and counts one parsed record: its outcome, or why it was rejected. */
export function intake(processor: EventProcessor, tally: Tally, parsed: ParseResult): Outcome | Rejection {
  if (!parsed.ok) {
    tally.countRejection(parsed.rejection.code)
    return parsed.rejection
  }
  const outcome = processor.process(parsed.event)
  tally.countOutcome(outcome)
  return outcome
}
