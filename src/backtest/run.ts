// The two ways `invpipe backtest` reads its input, to one report: event files (JSONL, Parquet or
// stdin) → validation → collector (in arrival order, as replay); or the PostgreSQL history →
// predictor. Then scores → report.

import type { Sql } from 'postgres'
import type { CoreConfig } from '../core/config.ts'
import { intake } from '../core/intake.ts'
import { Tally } from '../core/tally.ts'
import type { InputFile } from '../sources/files.ts'
import { readParsed } from '../sources/parsed.ts'
import { BacktestCollector, ClosePredictor } from './collect.ts'
import { collectHistory } from './history.ts'
import { type BacktestReport, buildReport } from './report.ts'
import type { Bound } from './window.ts'

export interface BacktestFileOptions {
  inputs: InputFile[]
  core: CoreConfig
  since: Bound
  until: Bound
}

export interface BacktestRun {
  report: BacktestReport
  seconds: number
}

export async function backtestFiles(options: BacktestFileOptions): Promise<BacktestRun> {
  const started = performance.now()
  const collector = new BacktestCollector(options.core, options.since, options.until)
  const tally = new Tally()
  for (const input of options.inputs) {
    for await (const chunk of readParsed(input))
      for (const parsed of chunk.results) if (parsed !== null) intake(collector, tally, parsed)
  }
  const data = collector.finish()
  const files = options.inputs.map((input) => (input.path === '-' ? 'stdin' : input.path))
  const report = buildReport(data, options.core, { kind: 'files', files }, tally.toJSON())
  return { report, seconds: (performance.now() - started) / 1000 }
}

export interface BacktestHistoryOptions {
  sql: Sql
  /** Where the history is, for the report (no password). */
  database: string
  /** The UTC day number relative bounds count back from. */
  today: number
  core: CoreConfig
  since: Bound
  until: Bound
  /** Rows fetched at a time (tests make it small to cross fetches). */
  cursorRows?: number
}

export async function backtestHistory(options: BacktestHistoryOptions): Promise<BacktestRun> {
  const started = performance.now()
  const predictor = new ClosePredictor(options.core, options.since, options.until)
  const data = await collectHistory(options.sql, predictor, options.today, options.cursorRows)
  const report = buildReport(data, options.core, { kind: 'postgresql', database: options.database }, null)
  return { report, seconds: (performance.now() - started) / 1000 }
}
