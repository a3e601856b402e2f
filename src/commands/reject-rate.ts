// MAX_REJECT_RATE: a run whose input is mostly not events (a binary file, a .gz, the wrong file)
// must not look like a success. After the summary, one line and exit status 3.

/** Status of a run that rejected more than the allowed share of its lines. */
export const TOO_MANY_REJECTS = 3

/**
 * When more than `maxRate` of the `read` lines were rejected, prints so on stderr with where to
 * look (`hint`) and sets the exit status to 3; returns whether it did.
 */
export function checkRejectRate(read: number, rejected: number, maxRate: number, hint: string): boolean {
  if (read === 0 || rejected / read <= maxRate) return false
  const percent = (100 * rejected) / read
  console.error(
    `invpipe: ${rejected} of ${read} lines rejected (${percent >= 99.95 ? '100' : percent.toFixed(1)} %), more than MAX_REJECT_RATE ${maxRate} (--max-reject-rate): is this an event file? (${hint})`,
  )
  process.exitCode = TOO_MANY_REJECTS
  return true
}
