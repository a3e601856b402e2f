// Golden cases (fixtures/golden/), run at several batch sizes: the expected values never change with
// the batch size. The §3–§4 columns, on_order / inventory_position, the daily rows, rejects, duplicates
// and counts are worked out by hand (each case's README shows the arithmetic); the risk columns of §5
// and the alert messages of §6 are the independent Python oracle's (test/oracle/regen_golden.py,
// which also checks every hand-worked figure against the oracle). An alert's `reason` is free text
// and not compared.
import { describe, expect, test } from 'bun:test'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { analyze, coreConfigOf, firstDifference, withoutReasons } from './support/analyze.ts'

const GOLDEN = join(import.meta.dir, '..', 'fixtures', 'golden')
const cases = readdirSync(GOLDEN, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort()

function loadCase(name: string) {
  const dir = join(GOLDEN, name)
  const lines = readFileSync(join(dir, 'events.jsonl'), 'utf8').split('\n')
  if (lines.at(-1) === '') lines.pop()
  const configPath = join(dir, 'config.json')
  const rawConfig = existsSync(configPath)
    ? (JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, number>)
    : {}
  const config = coreConfigOf(rawConfig)
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'))
  return { lines, config, expected }
}

describe('golden cases', () => {
  test('there is a case for every rule', () => {
    expect(cases.length).toBeGreaterThanOrEqual(15)
  })

  for (const name of cases) {
    test(name, () => {
      const { lines, config, expected } = loadCase(name)
      for (const batchSize of [1, 3, lines.length]) {
        const difference = firstDifference(withoutReasons(analyze(lines, config, batchSize)), expected)
        expect(difference === null ? null : `batch ${batchSize}: ${difference}`).toBeNull()
      }
    })
  }
})
