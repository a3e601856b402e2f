// How consume tells failures apart: which service a failure belongs to, whether retrying can help,
// and the time limit every call to a service gets.
import { KafkaJSError } from 'kafkajs'
import { errorCode } from '../errors.ts'
import { isSessionLost } from '../postgres/connect.ts'

/** PostgreSQL refused the data itself: retrying cannot help. */
export function isPermanent(error: unknown): boolean {
  // 21: cardinality (a statement touching a row twice: a bug here), 22: data, 23: constraints.
  return ['21', '22', '23'].includes(errorCode(error).slice(0, 2))
}

/** A lock wait ran out (lock_timeout): another session holds a row this commit needs. */
export function isLockTimeout(error: unknown): boolean {
  return errorCode(error) === '55P03'
}

/** The sink a failure of the batch path is reported under (/healthz, metrics, the outage warning). */
export function failedSink(error: unknown): 'kafka' | 'postgres' {
  return error instanceof KafkaJSError ? 'kafka' : 'postgres'
}

/** A call given up for its time limit (the call itself may still finish). */
export class TimeLimitError extends Error {
  override name = 'TimeLimitError'
}

/** Rejects with `message` if the work takes longer than `ms` (the work itself goes on). */
export function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeLimitError(message)), ms)
  })
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}

/**
 * Runs `work`, again (up to `tries` times, `pauseMs` apart) when its session was ended under it:
 * worth another try at once, unlike a server that refuses connections, which fails at the first.
 */
export async function retryIfSessionLost<T>(work: () => Promise<T>, tries = 3, pauseMs = 500): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work()
    } catch (error) {
      if (attempt >= tries || !isSessionLost(error)) throw error
      await Bun.sleep(pauseMs)
    }
  }
}
