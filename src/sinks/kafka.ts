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
  /** The episode the message belongs to (SPEC §6): several messages share it. */
  alertId: string
  /** `{alert_id}:{n}`: the message's own identity. */
  messageId: string
  key: string
  /** The JSON text, serialised once: a re-sent message is byte for byte the first one. */
  value: string
}

/** An alert message as the Kafka message it becomes: keyed by item, the SPEC §6 record as JSON. */
export function outgoingAlert(alert: Alert, generatedAt: number): OutgoingAlert {
  return {
    alertId: alert.alertId,
    messageId: alert.messageId,
    key: `${alert.sku}:${alert.warehouseId}`,
    value: JSON.stringify(alertRecord(alert, generatedAt)),
  }
}

/** Kafka headers naming the message, so consumers can route or deduplicate without parsing the value. */
export const ALERT_HEADERS = { alertId: 'alert-id', messageId: 'message-id' } as const

/**
 * Sends alert messages, in the order given (an episode's messages keep their order: one key, one
 * partition), and waits for all in-sync replicas: a message is only marked sent once it is safe.
 */
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
      headers: { [ALERT_HEADERS.alertId]: alert.alertId, [ALERT_HEADERS.messageId]: alert.messageId },
    })),
  })
}

export async function sendDeadLetters(producer: Producer, topic: string, messages: Message[]): Promise<void> {
  if (messages.length > 0) await producer.send({ topic, acks: -1, messages })
}
