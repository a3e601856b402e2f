// The core against test/oracle/oracle.py, an independent Python implementation of SPEC §2–§6
// written from the spec alone: random streams and a generated realistic one must agree in full.
import { describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { analyze, firstDifference } from './support/analyze.ts'
import { eventLine } from './support/arbitraries.ts'

// Bun's 5 s default is too short for a test that spawns processes on 2 loaded cores.
setDefaultTimeout(60_000)

const ORACLE = join(import.meta.dir, 'oracle', 'oracle.py')
const dir = mkdtempSync(join(tmpdir(), 'invpipe-oracle-'))

function oracle(lines: string[], config: Record<string, number> = {}) {
  const path = join(dir, 'events.jsonl')
  writeFileSync(path, `${lines.join('\n')}\n`)
  const result = Bun.spawnSync(['python3', ORACLE, path, '--config', JSON.stringify(config)])
  if (result.exitCode !== 0) throw new Error(result.stderr.toString())
  return JSON.parse(result.stdout.toString())
}

describe('agreement with the independent Python oracle', () => {
  test('the generated sample stream (late events, duplicates, malformed lines, zones): every row, alert, reject and daily row', () => {
    const lines = readFileSync(join(import.meta.dir, '..', 'fixtures', 'sample-events.jsonl'), 'utf8').split(
      '\n',
    )
    if (lines.at(-1) === '') lines.pop()
    const expected = oracle(lines)
    expect(expected.alerts.length).toBeGreaterThan(10)
    expect(expected.counts.duplicates).toBeGreaterThan(10)
    expect(firstDifference(analyze(lines), expected)).toBeNull()
  })

  test('random small streams (collisions of ids, days and items; malformed lines)', () => {
    fc.assert(
      fc.property(fc.array(eventLine, { minLength: 1, maxLength: 80 }), (lines) => {
        expect(firstDifference(analyze(lines), oracle(lines))).toBeNull()
      }),
      { numRuns: 40 },
    )
  })

  test('random streams under other settings', () => {
    const config = {
      lead_time_days: 3,
      review_period_days: 14,
      service_level: 0.8,
      alert_threshold: 0.3,
      dedup_window_hours: 6,
    }
    const core = {
      leadTimeDays: 3,
      reviewPeriodDays: 14,
      serviceLevel: 0.8,
      alertThreshold: 0.3,
      dedupWindowHours: 6,
    }
    fc.assert(
      fc.property(fc.array(eventLine, { minLength: 1, maxLength: 80 }), (lines) => {
        expect(firstDifference(analyze(lines, core), oracle(lines, config))).toBeNull()
      }),
      { numRuns: 20 },
    )
  })
})
