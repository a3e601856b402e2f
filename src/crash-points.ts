// Fault injection for the crash tests: with INVPIPE_CRASH_POINT=name (and INVPIPE_CRASH_AFTER=n,
// default 1) the process kills itself with SIGKILL the n-th time it passes that point, so a test
// can crash it at the worst instants (inside the PostgreSQL commit, between writing a Parquet file
// and releasing its rows). INVPIPE_CRASH_SIGNAL=SIGSTOP freezes it there instead (a process that
// hangs mid-transaction; the test thaws it with SIGCONT). Without the variable a crash point is a
// comparison and nothing more.
const target = process.env.INVPIPE_CRASH_POINT
const signal = process.env.INVPIPE_CRASH_SIGNAL === 'SIGSTOP' ? 'SIGSTOP' : 'SIGKILL'
let remaining = Number(process.env.INVPIPE_CRASH_AFTER ?? 1)

export type CrashPoint =
  /** consume: a batch processed into the pending commit, not committed yet */
  | 'batch-processed'
  /** inside the PostgreSQL transaction of a commit, before COMMIT */
  | 'commit'
  | 'after-commit'
  /** the Parquet outbox: entries claimed for a file, the file not written yet */
  | 'parquet-claimed'
  | 'parquet-written'
  | 'parquet-renamed'

export function crashPoint(name: CrashPoint): void {
  if (target === name && --remaining === 0) process.kill(process.pid, signal)
}
