// How the alert episodes of SPEC §6 read to a planner, over event files: messages per item per
// month, and what became of each raised episode that was a forecast (stock still above 0): a
// stockout while it was open (the alert was right), resolved by a receipt (replenishment came),
// resolved otherwise, or still open at the end.
//   bun scripts/alert-stats.ts FILE... [--json]
import { DEFAULT_CORE_CONFIG } from '../src/core/config.ts'
import { Engine } from '../src/core/engine.ts'
import { itemKey, parseEvent } from '../src/core/event.ts'
import { dayOf } from '../src/core/time.ts'
import { openInputs, readInput } from '../src/sources/files.ts'

interface Open {
  raisedDay: number
  stockedOut: boolean
}

const args = process.argv.slice(2)
const json = args.includes('--json')
const files = args.filter((arg) => arg !== '--json')
if (files.length === 0) {
  console.error('usage: bun scripts/alert-stats.ts FILE... [--json]')
  process.exit(2)
}

const engine = new Engine(DEFAULT_CORE_CONFIG)
const open = new Map<string, Open>()
// raisedWhenOut: raised with stock already at or below 0 (risk 1 by definition): not a forecast, kept apart.
const outcome = {
  raised: 0,
  raisedWhenOut: 0,
  stockout: 0,
  resolvedByReceipt: 0,
  resolvedOtherwise: 0,
  stillOpen: 0,
}
const byStatus: Record<string, number> = {}
let messages = 0
let firstDay = Number.POSITIVE_INFINITY
let lastDay = Number.NEGATIVE_INFINITY
for (const input of openInputs(files)) {
  for await (const chunk of readInput(input)) {
    for (const record of chunk.records) {
      const parsed = typeof record === 'string' ? parseEvent(record) : null
      if (parsed === null || !parsed.ok) continue
      const event = parsed.event
      const key = itemKey(event.sku, event.warehouseId)
      if (engine.process(event) === 'duplicate') continue
      firstDay = Math.min(firstDay, dayOf(event.ts))
      lastDay = Math.max(lastDay, dayOf(event.ts))
      const episode = open.get(key)
      const batch = engine.flush(0)
      if (episode !== undefined && batch.rows[0]?.onHand !== null && (batch.rows[0]?.onHand as number) <= 0)
        episode.stockedOut = true
      for (const alert of batch.alerts) {
        messages++
        byStatus[alert.status] = (byStatus[alert.status] ?? 0) + 1
        if (alert.status === 'raised' && alert.onHand <= 0) outcome.raisedWhenOut++
        else if (alert.status === 'raised') {
          outcome.raised++
          open.set(key, { raisedDay: alert.asOfDay, stockedOut: false })
        } else if (alert.status === 'resolved') {
          const closed = open.get(key)
          open.delete(key)
          if (closed === undefined) continue
          if (closed.stockedOut) outcome.stockout++
          else if (event.type === 'restock') outcome.resolvedByReceipt++
          else outcome.resolvedOtherwise++
        }
      }
    }
  }
}
for (const episode of open.values()) {
  if (episode.stockedOut) outcome.stockout++
  else outcome.stillOpen++
}
const months = (lastDay - firstDay + 1) / 30
const items = engine.itemCount
const report = {
  items,
  days: lastDay - firstDay + 1,
  messages,
  by_status: byStatus,
  messages_per_item_per_month: messages / items / months,
  raised_per_item_per_month: (outcome.raised + outcome.raisedWhenOut) / items / months,
  episodes: outcome,
  share_followed_by_stockout: outcome.stockout / outcome.raised,
  share_resolved_by_receipt: outcome.resolvedByReceipt / outcome.raised,
}
if (json) console.log(JSON.stringify(report, null, 2))
else {
  const pct = (x: number) => `${(100 * x).toFixed(0)} %`
  console.log(
    `${items} items over ${report.days} days: ${messages} alert messages (${JSON.stringify(byStatus)})`,
  )
  console.log(
    `per item per month: ${report.messages_per_item_per_month.toFixed(2)} messages, ${report.raised_per_item_per_month.toFixed(2)} raised episodes`,
  )
  console.log(
    `raised episodes: ${outcome.raised + outcome.raisedWhenOut}, ${outcome.raisedWhenOut} of them already out of stock; of the other ${outcome.raised}: a stockout while open ${pct(report.share_followed_by_stockout)}, resolved by a receipt ${pct(report.share_resolved_by_receipt)}, resolved otherwise ${pct(outcome.resolvedOtherwise / outcome.raised)}, still open at the end ${pct(outcome.stillOpen / outcome.raised)}`,
  )
}
