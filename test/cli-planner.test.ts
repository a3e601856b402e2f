// The views a planner asks for, through the CLI: the whole list (--top N, --csv FILE), counts per
// risk level and what to reorder per warehouse in the summary, and a run id with the settings.
import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { invpipe } from './support/cli.ts'
import { SPEC_COLUMNS } from './support/spec-columns.ts'

setDefaultTimeout(60_000)

const ROOT = join(import.meta.dir, '..')
const SAMPLE = join(ROOT, 'fixtures/sample-events.jsonl')
const dir = mkdtempSync(join(tmpdir(), 'invpipe-planner-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const run = (args: string[]) => invpipe(args, { cwd: dir })

/** RFC 4180 records (quoted fields may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const records: string[][] = []
  let record: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"'
        i++
      } else if (c === '"') quoted = false
      else field += c
    } else if (c === '"') quoted = true
    else if (c === ',') {
      record.push(field)
      field = ''
    } else if (c === '\n') {
      record.push(field)
      records.push(record)
      record = []
      field = ''
    } else field += c
  }
  return records
}

describe('replay: the whole list', () => {
  const json = run(['replay', SAMPLE, '--json', '--csv', 'all.csv', '--top', '3', '--data-dir', 'data'])
  const summary = JSON.parse(json.stdout)
  const [header, ...rows] = parseCsv(readFileSync(join(dir, 'all.csv'), 'utf8'))
  const records = rows.map((cells) => Object.fromEntries((header as string[]).map((h, i) => [h, cells[i]])))

  test('--csv: every item once, the processed-metrics columns and the reason, most at risk first', () => {
    expect(json.code).toBe(0)
    expect(header).toEqual([...SPEC_COLUMNS, 'reason'])
    expect(records).toHaveLength(summary.items)
    expect(new Set(records.map((r) => `${r.sku}:${r.warehouse_id}`)).size).toBe(summary.items)
    for (const record of records) expect(record.reason).toMatch(/on hand|unknown/)
    const risks = records.map((r) => (r.stockout_risk === '' ? -1 : Number(r.stockout_risk)))
    expect(risks).toEqual(risks.slice().sort((a, b) => b - a))
    expect(summary.csv_rows).toBe(summary.items)
  })

  test('--top N: that many items, the first rows of the CSV', () => {
    expect(summary.top_at_risk).toHaveLength(3)
    expect(summary.top_at_risk.map((r: { sku: string }) => r.sku)).toEqual(
      records.slice(0, 3).map((r) => r.sku),
    )
    const none = run(['replay', SAMPLE, '--top', '0', '--data-dir', 'data'])
    expect(none.code).toBe(0)
    expect(none.stdout).not.toContain('most at risk')
    const bad = run(['replay', SAMPLE, '--top', 'all'])
    expect(bad.stderr.trim()).toBe('invpipe: --top must be a whole number from 0 to 100000, got "all"')
    expect(bad.code).toBe(2)
  })

  test('counts per risk level and reorder totals per warehouse agree with the rows', () => {
    const levels: Record<string, number> = { unknown: 0, low: 0, medium: 0, high: 0, critical: 0 }
    for (const r of records) levels[r.risk_level as string] = (levels[r.risk_level as string] ?? 0) + 1
    expect(summary.risk_levels).toEqual(levels)
    const warehouses = [...new Set(records.map((r) => r.warehouse_id as string))].sort()
    expect(summary.reorder_by_warehouse).toEqual(
      warehouses.map((w) => {
        const mine = records.filter((r) => r.warehouse_id === w)
        const ordering = mine.filter((r) => Number(r.reorder_quantity) > 0)
        return {
          warehouse_id: w,
          items: mine.length,
          items_to_reorder: ordering.length,
          reorder_units: ordering.reduce((sum, r) => sum + Number(r.reorder_quantity), 0),
        }
      }),
    )
    const text = run(['replay', SAMPLE, '--data-dir', 'data']).stdout
    const { critical, high, medium, low, unknown } = levels
    expect(text).toContain(
      `risk        ${critical} critical, ${high} high, ${medium} medium, ${low} low, ${unknown} unknown`,
    )
    expect(text).toMatch(/^reorder {5}warehouse {2}items {2}to reorder {2}units$/m)
    const first = summary.reorder_by_warehouse[0]
    expect(text).toMatch(
      new RegExp(
        `^ {12}${first.warehouse_id} +${first.items} +${first.items_to_reorder} +${first.reorder_units}$`,
        'm',
      ),
    )
  })

  test('a run id and the settings that shaped the figures, in --json and the summary', () => {
    expect(summary.run_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(summary.settings).toEqual({
      batch_size: 100,
      lead_time_days: 7,
      review_period_days: 7,
      service_level: 0.95,
      alert_threshold: 0.5,
      alert_resolve_threshold: 0.2,
      alert_repeat_days: 7,
      dedup_window_hours: 48,
    })
    const other = JSON.parse(
      run(['replay', SAMPLE, '--json', '--lead-time-days', '14', '--data-dir', 'data']).stdout,
    )
    expect(other.run_id).not.toBe(summary.run_id)
    expect(other.settings.lead_time_days).toBe(14)
    expect(run(['replay', SAMPLE, '--data-dir', 'data']).stdout).toMatch(/^run {9}[0-9a-f-]{36}$/m)
  })

  test('--csv is an output like the others: not an input, not a directory, a .csv name', () => {
    const same = run(['replay', SAMPLE, '--csv', SAMPLE])
    expect(same.stderr.trim()).toMatch(/^invpipe: --csv .*: expected a file name ending in .csv$/)
    const clash = run(['replay', SAMPLE, '--csv', 'x.csv', '--alerts', 'x.csv'])
    expect(clash.stderr.trim()).toMatch(/^invpipe: --csv x.csv: is also the --alerts output/)
    expect(clash.code).toBe(2)
  })
})
