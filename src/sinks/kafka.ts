// Kafka outputs: alerts to ALERT_TOPIC (keyed by item) and rejected messages to DLQ_TOPIC
// (original bytes, with the reason and where they came from in headers).
import type { KafkaMessage, Message, Producer } from 'kafkajs'
import { type Alert, alertRecord } from '../core/alerts.ts'
import type { Rejection } from '../core/event.ts'

export const DLQ_HEADERS = {
  code: 'invpipe-rejection-code',
  message: 'invpipe-rejection-message',
  topic: 'invpipe-source-topic',
  partition: 'invpipe-source-partition',
  offset: 'invpipe-source-offset',
} as const

export function deadLetter(
  source: { topic: string; partition: number },
  message: KafkaMessage,
  rejection: Rejection,
): Message {
  return {
    key: message.key,
    value: message.value,
    headers: {
      ...message.headers,
      [DLQ_HEADERS.code]: rejection.code,
      [DLQ_HEADERS.message]: rejection.message,
      [DLQ_HEADERS.topic]: source.topic,
      [DLQ_HEADERS.partition]: String(source.partition),
      [DLQ_HEADERS.offset]: message.offset,
    },
  }
}

export interface OutgoingAlert {
  alertId: string
  key: string
  /** The JSON text, serialised once: a re-sent alert is byte for byte the first one. */
  value: string
}

/** An alert as the message it becomes: keyed by item, the SPEC §6 record as JSON. */
export function outgoingAlert(alert: Alert, generatedAt: number): OutgoingAlert {
  return {
    alertId: alert.alertId,
    key: `${alert.sku}:${alert.warehouseId}`,
    value: JSON.stringify(alertRecord(alert, generatedAt)),
  }
}

/** Sends alerts and waits for all in-sync replicas: an alert is only marked sent once it is safe. */
export async function sendAlerts(
  producer: Producer,
  topic: string,
  alerts: readonly OutgoingAlert[],
): Promise<void> {
  if (alerts.length === 0) return
  await producer.send({
    topic,
    acks: -1,
    messages: alerts.map((alert) => ({
      key: alert.key,
      value: alert.value,
      headers: { 'alert-id': alert.alertId },
    })),
  })
}

export async function sendDeadLetters(producer: Producer, topic: string, messages: Message[]): Promise<void> {
  if (messages.length > 0) await producer.send({ topic, acks: -1, messages })
}
