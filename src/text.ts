// Plain-text layout for the terminal views (help, replay's summary, item, backtest): words wrapped
// to a width, and rows of cells aligned in columns.

/** Words into lines of at most `width` columns, each starting with `indent`. */
export function wrap(text: string, width: number, indent = ''): string[] {
  const lines: string[] = []
  for (const paragraph of text.split('\n')) {
    let current = ''
    for (const word of paragraph.split(' ').filter((w) => w !== '')) {
      if (current !== '' && indent.length + current.length + 1 + word.length > width) {
        lines.push(indent + current)
        current = word
      } else current = current === '' ? word : `${current} ${word}`
    }
    lines.push(indent + current)
  }
  return lines
}

export interface ColumnLayout {
  /** One row: cells two spaces apart, padded to their column's width. */
  line: (cells: readonly string[]) => string
  /** The rule under the header: dashes as wide as each column. */
  rule: string
}

/**
 * Columns as wide as their widest cell (header included), left-aligned where `isLeft` says so,
 * right-aligned otherwise.
 */
export function columnLayout(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  isLeft: (column: number) => boolean,
): ColumnLayout {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((cells) => (cells[i] as string).length)))
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (isLeft(i) ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number)))
      .join('  ')
      .trimEnd()
  return { line, rule: line(widths.map((w) => '-'.repeat(w))) }
}
