// The stores a replay can feed besides its Parquet files (`--sinks`): each takes a whole batch.
// They reuse the code consume writes with, so a replay into PostgreSQL, Redis or Kafka looks the
// same as the live pipeline's output.
import type { Producer } from 'kafkajs'
import type { Sql } from 'postgres'
import type { Batch } from '../core/engine.ts'
import { migrate } from '../postgres/migrations.ts'
import { outgoingAlert, sendAlerts } from './kafka.ts'
import { writeAnalytics } from './postgres.ts'

export interface BatchSink {
  name: string
  /** Whether the sink needs the daily-history deltas. */
  needsDaily: boolean
  write(batch: Batch, now: number): Promise<void>
  close(): Promise<void>
}

/** analytics.processed_metrics and analytics.daily_inventory, one transaction per batch. */
export async function postgresBatchSink(sql: Sql): Promise<BatchSink> {
  await migrate(sql)
  return {
    name: 'postgres',
    needsDaily: true,
    write: async (batch) => {
      if (batch.rows.length > 0 || batch.daily.length > 0) await sql.begin((tx) => writeAnalytics(tx, batch))
    },
    close: () => sql.end({ timeout: 5 }),
  }
}

/** The alerts of each batch to the alert topic, keyed by item. */
export function kafkaAlertSink(producer: Producer, topic: string): BatchSink {
  return {
    name: 'kafka',
    needsDaily: false,
    write: (batch, now) =>
      sendAlerts(
        producer,
        topic,
        batch.alerts.map((alert) => outgoingAlert(alert, now)),
      ),
    close: () => producer.disconnect(),
  }
}
