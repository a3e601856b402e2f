// The knobs of `invpipe generate`, their defaults, and the checks that turn a bad value
// into a one-line error naming the option (the CLI flag spelling is used in messages).

import { MS_PER_DAY } from '../core/time.ts'
export interface GenerateOptions {
  /** Exact number of output lines (events, duplicates and malformed lines together). */
  events: number
  skus: number
  warehouses: number
  /** Nominal history length: demand is calibrated so that `events` lines span about this many days. */
  days: number
  /** First day of the history, YYYY-MM-DD (UTC). */
  start: string
  seed: number
  /** Share of output lines that are malformed (rejected by SPEC §2). */
  malformedRate: number
  /** Share of events that are sent a second time, unchanged, a few lines later. */
  duplicateRate: number
  /** Share of events that arrive out of order, later in the output than their event time says. */
  lateRate: number
}

export const DEFAULT_GENERATE_OPTIONS: GenerateOptions = {
  events: 10_000,
  skus: 50,
  warehouses: 4,
  days: 90,
  start: '2026-01-01',
  seed: 1,
  malformedRate: 0,
  duplicateRate: 0.01,
  lateRate: 0.02,
}

/** About 18 GB of JSONL and an hour of writing: beyond this a run is a mistake, not a benchmark. */
export const MAX_EVENTS = 100_000_000
/** Per-item state is ~110 bytes of typed arrays; beyond this the run would need gigabytes. */
export const MAX_ITEMS = 10_000_000
export const MAX_WAREHOUSES = 999
export const MAX_DAYS = 3650

const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/

/** Parses YYYY-MM-DD into its UTC day number, or null when it is not a real calendar date. */
export function parseStartDay(text: string): number | null {
  const match = DATE_PATTERN.exec(text)
  if (match === null) return null
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])]
  const ms = Date.UTC(year, month - 1, day)
  const check = new Date(ms)
  // Date.UTC rolls 2026-02-30 over to March; a round trip catches that.
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day)
    return null
  return ms / MS_PER_DAY
}

/** Returns the first problem as a one-line message, or null when the options are usable. */
export function checkGenerateOptions(options: GenerateOptions): string | null {
  const { events, skus, warehouses, days, seed } = options
  if (!Number.isSafeInteger(events) || events < 0 || events > MAX_EVENTS)
    return `--events must be a whole number from 0 to ${MAX_EVENTS}, got ${events}`
  if (!Number.isSafeInteger(skus) || skus < 1 || skus > MAX_ITEMS)
    return `--skus must be a positive integer, got ${skus} (at most ${MAX_ITEMS}, with --skus × --warehouses also at most ${MAX_ITEMS})`
  if (!Number.isSafeInteger(warehouses) || warehouses < 1 || warehouses > MAX_WAREHOUSES) {
    return `--warehouses must be an integer from 1 to ${MAX_WAREHOUSES}, got ${warehouses}`
  }
  if (skus * warehouses > MAX_ITEMS) {
    return `--skus × --warehouses must be at most ${MAX_ITEMS} items, got ${skus * warehouses}`
  }
  if (!Number.isSafeInteger(days) || days < 1 || days > MAX_DAYS) {
    return `--days must be an integer from 1 to ${MAX_DAYS}, got ${days}`
  }
  if (!Number.isSafeInteger(seed) || seed < 0)
    return `--seed must be a non-negative integer, got ${seed} (at most ${Number.MAX_SAFE_INTEGER})`
  for (const [flag, rate] of [
    ['--malformed-rate', options.malformedRate],
    ['--duplicate-rate', options.duplicateRate],
    ['--late-rate', options.lateRate],
  ] as const) {
    if (!(rate >= 0 && rate <= 1)) return `${flag} must be a number from 0 to 1, got ${rate}`
  }
  return checkStart(options.start, days)
}

function checkStart(start: string, days: number): string | null {
  const startDay = parseStartDay(start)
  if (startDay === null) return `--start must be a calendar date YYYY-MM-DD, got ${JSON.stringify(start)}`
  // Events must stay inside SPEC §2's years 2000–2099; the stream may run somewhat past
  // the nominal history, so keep twice its length as headroom.
  const lastDay = startDay + 2 * days + 30
  if (startDay < Date.UTC(2000, 0, 1) / MS_PER_DAY || lastDay >= Date.UTC(2100, 0, 1) / MS_PER_DAY) {
    return `--start with --days ${days} must keep the events within the years 2000 to 2099, got ${start}`
  }
  return null
}
