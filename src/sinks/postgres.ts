// PostgreSQL: the system of record for `consume`. One transaction per batch writes the latest
// metrics, the daily history, the item states, the outboxes and the consumed offset, so a crash at
// any instant leaves either all of a batch or none of it.
import type { Sql, TransactionSql } from 'postgres'
import { closeRecord } from '../core/close.ts'
import type { Batch } from '../core/engine.ts'
import { splitItemKey } from '../core/event.ts'
import { dailyRecord, metricsRecord } from '../core/rows.ts'
import { type ItemSnapshot, restoreState, snapshotOf } from '../core/snapshot.ts'
import type { ItemState } from '../core/state.ts'
import { crashPoint } from '../crash-points.ts'
import type { OutgoingAlert } from './kafka.ts'

/** Another consumer committed this partition past the offset we started from: our work is stale. */
export class FencedError extends Error {
  override name = 'FencedError'
}

/** An alert message waiting in analytics.alert_outbox. */
export interface StoredAlert extends OutgoingAlert {
  outboxId: number
}

export interface PartitionPosition {
  topic: string
  partition: number
  /** The offset this instance resumed from (null: nothing committed yet). */
  expectedOffset: number | null
  nextOffset: number
}

/** Upserts the processed-metrics rows and day closes and adds the daily deltas: shared by consume and replay. */
export async function writeAnalytics(tx: TransactionSql, batch: Batch): Promise<void> {
  if (batch.rows.length > 0) {
    await tx`
      INSERT INTO analytics.processed_metrics
      SELECT * FROM json_populate_recordset(null::analytics.processed_metrics, ${JSON.stringify(batch.rows.map(metricsRecord))}::text::json)
      ON CONFLICT (sku, warehouse_id) DO UPDATE SET
        as_of_date = excluded.as_of_date, last_event_at = excluded.last_event_at, event_count = excluded.event_count,
        on_hand = excluded.on_hand, velocity_7d = excluded.velocity_7d, velocity_30d = excluded.velocity_30d,
        volatility = excluded.volatility, trend = excluded.trend, seasonality_index = excluded.seasonality_index,
        days_of_history = excluded.days_of_history, lead_time_days = excluded.lead_time_days,
        expected_demand_lead_time = excluded.expected_demand_lead_time, stockout_risk = excluded.stockout_risk,
        risk_level = excluded.risk_level, days_of_cover = excluded.days_of_cover, safety_stock = excluded.safety_stock,
        reorder_point = excluded.reorder_point, reorder_quantity = excluded.reorder_quantity,
        on_order = excluded.on_order, inventory_position = excluded.inventory_position,
        expected_stockout_date = excluded.expected_stockout_date, computed_at = excluded.computed_at`
  }
  if (batch.daily.length > 0) {
    await tx`
      INSERT INTO analytics.daily_inventory AS d
      SELECT * FROM json_populate_recordset(null::analytics.daily_inventory, ${JSON.stringify(batch.daily.map(dailyRecord))}::text::json)
      ON CONFLICT (sku, warehouse_id, date) DO UPDATE SET
        sold = d.sold + excluded.sold, returned = d.returned + excluded.returned,
        received = d.received + excluded.received, adjusted = d.adjusted + excluded.adjusted,
        closing_on_hand = excluded.closing_on_hand, stockout = d.stockout OR excluded.stockout`
  }
  if (batch.closes.length > 0) {
    await tx`
      INSERT INTO analytics.daily_close
      SELECT * FROM json_populate_recordset(null::analytics.daily_close, ${JSON.stringify(batch.closes.map(closeRecord))}::text::json)
      ON CONFLICT (sku, warehouse_id, date) DO UPDATE SET
        on_hand = excluded.on_hand, first_date = excluded.first_date, lead_time_days = excluded.lead_time_days,
        sales_dates = excluded.sales_dates, sales_units = excluded.sales_units, model = excluded.model`
  }
}

export class PostgresStore {
  constructor(
    readonly sql: Sql,
    readonly groupId: string,
  ) {}

  /** The offset to resume a partition from; null when nothing was committed for it yet. */
  async storedOffset(topic: string, partition: number): Promise<number | null> {
    const [offset] = await this.sql<{ next_offset: number }[]>`
      SELECT next_offset FROM analytics.consumer_offsets
      WHERE group_id = ${this.groupId} AND topic = ${topic} AND partition = ${partition}`
    return offset?.next_offset ?? null
  }

  /** The offsets committed for every partition of a topic. */
  async storedOffsets(topic: string): Promise<Map<number, number>> {
    const rows = await this.sql<{ partition: number; next_offset: number }[]>`
      SELECT partition, next_offset FROM analytics.consumer_offsets WHERE group_id = ${this.groupId} AND topic = ${topic}`
    return new Map(rows.map((row) => [row.partition, row.next_offset]))
  }

  /** The saved states of a partition's items and the offset to resume from. */
  async loadPartition(
    topic: string,
    partition: number,
  ): Promise<{ states: ItemState[]; nextOffset: number | null }> {
    const nextOffset = await this.storedOffset(topic, partition)
    const rows = await this.sql<{ state: ItemSnapshot }[]>`
      SELECT state FROM analytics.item_state
      WHERE group_id = ${this.groupId} AND topic = ${topic} AND partition = ${partition}`
    return { states: rows.map((row) => restoreState(row.state)), nextOffset }
  }

  /**
   * Commits one batch of one partition, and returns the outbox ids of its alert messages (for
   * markAlertsSent). Throws FencedError, writing nothing, when the stored offset is no longer the
   * one this instance resumed from (another instance has taken the partition).
   */
  async commitBatch(
    position: PartitionPosition,
    batch: Batch,
    alerts: readonly OutgoingAlert[],
  ): Promise<number[]> {
    return this.sql.begin(async (tx) => {
      await this.advanceOffset(tx, position)
      await writeAnalytics(tx, batch)
      if (batch.states.length > 0) {
        const states = batch.states.map((state) => {
          const [sku, warehouseId] = splitItemKey(state.key)
          return { sku, warehouse_id: warehouseId, state: snapshotOf(state) }
        })
        await tx`
          INSERT INTO analytics.item_state (group_id, sku, warehouse_id, topic, partition, state)
          SELECT ${this.groupId}, s.sku, s.warehouse_id, ${position.topic}, ${position.partition}, s.state
          FROM json_to_recordset(${JSON.stringify(states)}::text::json) AS s(sku text, warehouse_id text, state jsonb)
          ON CONFLICT (group_id, sku, warehouse_id) DO UPDATE SET
            state = excluded.state, topic = excluded.topic, partition = excluded.partition`
      }
      if (batch.rows.length > 0) {
        await tx`
          INSERT INTO analytics.metrics_outbox (row)
          SELECT value FROM jsonb_array_elements(${JSON.stringify(batch.rows.map(metricsRecord))}::text::jsonb)`
      }
      // Every message is a row of its own (no key on alert_id, which an episode's messages share;
      // none on message_id either, see migration 3), in the order the events raised them: the outbox
      // id orders a re-send, and names the rows a confirmed send deletes.
      let outboxIds: number[] = []
      if (alerts.length > 0) {
        const inserted = await tx<{ id: number }[]>`
          INSERT INTO analytics.alert_outbox (alert_id, message_id, item_key, value)
          SELECT a.alert_id, a.message_id, a.item_key, a.value
          FROM unnest(${alerts.map((a) => a.alertId)}::text[], ${alerts.map((a) => a.messageId)}::text[],
            ${alerts.map((a) => a.key)}::text[], ${alerts.map((a) => a.value)}::text[])
            WITH ORDINALITY AS a(alert_id, message_id, item_key, value, n)
          ORDER BY a.n
          RETURNING id`
        // Assigned in the ORDER BY's order: ascending ids are the alerts' order.
        outboxIds = inserted.map((row) => Number(row.id)).sort((a, b) => a - b)
      }
      crashPoint('commit')
      return outboxIds
    })
  }

  private async advanceOffset(tx: TransactionSql, position: PartitionPosition): Promise<void> {
    const { topic, partition, expectedOffset, nextOffset } = position
    const result =
      expectedOffset === null
        ? await tx`
            INSERT INTO analytics.consumer_offsets (group_id, topic, partition, next_offset)
            VALUES (${this.groupId}, ${topic}, ${partition}, ${nextOffset})
            ON CONFLICT DO NOTHING`
        : await tx`
            UPDATE analytics.consumer_offsets SET next_offset = ${nextOffset}, updated_at = now()
            WHERE group_id = ${this.groupId} AND topic = ${topic} AND partition = ${partition}
              AND next_offset = ${expectedOffset}`
    if (result.count !== 1) {
      throw new FencedError(
        `${topic}[${partition}]: offset moved by another consumer; re-reading the partition`,
      )
    }
  }

  /**
   * Alerts committed at least `olderThanSeconds` ago but not yet confirmed sent (a crash or a Kafka
   * error came between), oldest first. The age keeps instances from re-sending what another is
   * sending right now.
   */
  async unsentAlerts(olderThanSeconds: number, limit = 1000): Promise<StoredAlert[]> {
    const rows = await this.sql<
      { id: number; alert_id: string; message_id: string; item_key: string; value: string }[]
    >`
      SELECT id, alert_id, message_id, item_key, value FROM analytics.alert_outbox
      WHERE created_at <= now() - make_interval(secs => ${olderThanSeconds})
      ORDER BY id LIMIT ${limit}`
    return rows.map((row) => ({
      outboxId: Number(row.id),
      alertId: row.alert_id,
      messageId: row.message_id,
      key: row.item_key,
      value: row.value,
    }))
  }

  /** Deletes the outbox rows of messages the alert topic has acknowledged. */
  async markAlertsSent(outboxIds: readonly number[]): Promise<void> {
    if (outboxIds.length > 0)
      await this.sql`DELETE FROM analytics.alert_outbox WHERE id = ANY(${outboxIds as number[]}::bigint[])`
  }
}
