/** A mistake in how the program was called (a bad option, an impossible request): one line, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}
