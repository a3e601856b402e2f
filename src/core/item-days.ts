// Values by (item, day), looked up by the item's key string and the day number: no string is built
// per (item, day), so a key that is already hashed (an ItemState's own) costs one lookup, and the
// days of one item (seldom more than a few at a time) are searched in a short list.

export class ItemDays<T extends { day: number }> {
  private readonly byItem = new Map<string, T[]>()

  get(key: string, day: number): T | undefined {
    return this.byItem.get(key)?.find((value) => value.day === day)
  }

  /** Adds `value`, or replaces the one of the same (item, day). */
  set(key: string, value: T): void {
    const days = this.byItem.get(key)
    if (days === undefined) {
      this.byItem.set(key, [value])
      return
    }
    const at = days.findIndex((known) => known.day === value.day)
    if (at < 0) days.push(value)
    else days[at] = value
  }

  /** Every value, item by item in the order each item was first set, then by the order of its days. */
  values(): T[] {
    return [...this.byItem.values()].flat()
  }
}
