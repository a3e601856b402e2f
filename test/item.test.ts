// `invpipe item SKU WAREHOUSE FILE...`: one item's story as a planner reads it, through the CLI.
import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { invpipe } from './support/cli.ts'

setDefaultTimeout(60_000)

const dir = mkdtempSync(join(tmpdir(), 'invpipe-item-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const run = (args: string[]) => invpipe(args, { cwd: dir })

const event = (id: string, sku: string, type: string, quantity: number, timestamp: string, extra = {}) =>
  JSON.stringify({ event_id: id, event_type: type, sku, warehouse_id: 'W1', quantity, timestamp, ...extra })
// S1 counts 40, sells 5 a day for 8 days (out of stock on the 8th), orders on the 8th, receives 60 on
// the 9th; S2's events and a duplicate are mixed in.
const lines = [
  event('c', 'S1', 'stock_count', 40, '2026-03-01T08:00:00Z'),
  ...[1, 2, 3, 4, 5, 6, 7, 8].flatMap((d) => [
    event(`s${d}`, 'S1', 'sale', 5, `2026-03-0${d}T12:00:00Z`),
    event(`o${d}`, 'S2', 'sale', 1, `2026-03-0${d}T13:00:00Z`),
    // Sent twice: ignored the second time.
    ...(d === 3 ? [event('s3', 'S1', 'sale', 5, '2026-03-03T12:00:00Z')] : []),
  ]),
  event('po', 'S1', 'purchase_order', 60, '2026-03-08T13:00:00Z', {
    order_id: 'PO-77',
    expected_at: '2026-03-12T00:00:00Z',
  }),
  event('r1', 'S1', 'restock', 60, '2026-03-09T09:00:00Z', { order_id: 'PO-77' }),
  'not json',
]
const path = join(dir, 'events.jsonl')
writeFileSync(path, `${lines.join('\n')}\n`)

describe('invpipe item', () => {
  test('--json: each day sold, received, closing stock, the risk at the close, the messages', () => {
    const result = run(['item', 'S1', 'W1', path, '--json'])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const story = JSON.parse(result.stdout)
    expect([story.sku, story.warehouse_id, story.events, story.duplicates]).toEqual(['S1', 'W1', 12, 1])
    expect(story.days.map((d: { date: string }) => d.date)).toEqual(
      [1, 2, 3, 4, 5, 6, 7, 8, 9].map((d) => `2026-03-0${d}`),
    )
    expect(story.days.map((d: { sold: number }) => d.sold)).toEqual([5, 5, 5, 5, 5, 5, 5, 5, 0])
    expect(story.days.map((d: { received: number }) => d.received)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 60])
    expect(story.days.map((d: { closing_on_hand: number }) => d.closing_on_hand)).toEqual([
      35, 30, 25, 20, 15, 10, 5, 0, 60,
    ])
    expect(story.days.map((d: { stockout: boolean }) => d.stockout)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      true,
      false,
    ])
    expect(story.days[7].stockout_risk).toBe(1)
    expect(story.days[7].risk_level).toBe('critical')
    const messages = story.days.flatMap((d: { alerts: { status: string }[] }) => d.alerts)
    expect(messages[0].status).toBe('raised')
    expect(messages.at(-1).status).toBe('resolved')
    expect(story.days[8].alerts.map((a: { status: string }) => a.status)).toContain('resolved')
    for (const message of messages) expect(message.reason).toMatch(/on hand, about/)
    expect(story.final.on_hand).toBe(60)
    expect(story.final.reason).toMatch(/^60 on hand/)
  })

  test('the table: one line a day, the messages under their day, where the item stands now', () => {
    const result = run(['item', 'S1', 'W1', path])
    expect(result.code).toBe(0)
    const text = result.stdout
    expect(text).toStartWith('S1 at W1: 12 events (1 duplicate ignored), 2026-03-01 … 2026-03-09')
    expect(text).toMatch(/^date +sold +returned +received +adjusted +closing +out +risk +level/m)
    expect(text).toMatch(/^2026-03-08 +5 +0 +0 +0 +0 +out +1\.000 +critical/m)
    expect(text).toMatch(/^2026-03-09 +0 +0 +60 +0 +60 /m)
    expect(text).toMatch(/^ {4}! raised \(S1:W1:2026-03-\d\d:1, risk [\d.]+ \w+\): \d+ on hand/m)
    expect(text).toMatch(/^now: 60 on hand/m)
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(120)
  })

  test('--html: a page with the chart (inline SVG, no script), the messages and the table', () => {
    const result = run(['item', 'S1', 'W1', path, '--html', 'item.html'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('wrote item.html')
    const page = readFileSync(join(dir, 'item.html'), 'utf8')
    expect(page).toStartWith('<!doctype html>')
    expect(page).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/)
    expect(page).toContain('<svg id="item-chart"')
    expect(page.match(/<circle class="alert"/g)?.length).toBeGreaterThanOrEqual(2)
    expect(page).toContain('alert message: resolved')
    expect(page).toMatch(/<li><strong>2026-03-09 resolved<\/strong>/)
    expect(page).toContain('<th scope="row">2026-03-08</th>')
  })

  test('mistakes: an item with no event (with the one meant), no file, an --html that is the input', () => {
    const missing = run(['item', 'S1', 'W2', path])
    expect(missing.stderr.trim()).toBe('invpipe: no event of S1 at W2 in 21 lines read (did you mean S1 W1?)')
    expect(missing.code).toBe(2)
    // No file: the PostgreSQL history (test/item-history.test.ts); here, a server that is not there.
    const noFile = invpipe(['item', 'S1', 'W1'], { cwd: dir, env: { POSTGRES_PORT: '1' } })
    expect(noFile.stderr.trim()).toMatch(/^invpipe: PostgreSQL inventory_user@localhost:1\/inventory: /)
    expect(noFile.code).toBe(1)
    const noItem = run(['item'])
    expect(noItem.stderr.trim()).toMatch(/^invpipe: .*SKU/)
    expect(noItem.code).toBe(2)
    const clash = run(['item', 'S1', 'W1', path, '--html', path])
    expect(clash.stderr.trim()).toMatch(/--html .*expected a file name ending in .html or .htm/)
    expect(run(['item', 'S1', 'W1', path, '--bogus']).code).toBe(2)
  })
})
