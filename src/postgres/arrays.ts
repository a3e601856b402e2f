// PostgreSQL array literals ({1.5,NULL,"SKU-1"}), built here in one pass: postgres.js serialises an
// array parameter element by element through regular expressions, which took a tenth of consume's
// CPU. A literal is sent as text and cast in SQL ($1::float8[]).

/** Quoted, with the two characters that need it escaped (item keys and dates never hold them). */
function quoted(text: string): string {
  return text.includes('"') || text.includes('\\') ? `"${text.replace(/["\\]/g, '\\$&')}"` : `"${text}"`
}

/** The literal of a one-dimensional array; null is NULL, numbers keep every digit (shortest round trip). */
export function arrayLiteral(values: readonly (string | number | null)[]): string {
  // Joined once rather than appended to: a string grown piece by piece has to be flattened again
  // when the driver measures and copies it.
  const elements = new Array<string>(values.length)
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as string | number | null
    elements[i] = value === null ? 'NULL' : typeof value === 'number' ? String(value) : quoted(value)
  }
  return `{${elements.join(',')}}`
}

/** The record separator (U+001E): JSON.stringify escapes every control character, so no JSON text holds it. */
export const SEPARATOR_CODE = 0x1e
const SEPARATOR = String.fromCharCode(SEPARATOR_CODE)

/**
 * Texts that hold no control character (JSON texts, identifiers) as one text, split in SQL with
 * string_to_table($1, chr(30)): an array literal would quote and escape each, which for the
 * alerts' JSON values cost more than all their other columns, and PostgreSQL unescapes them
 * character by character. Throws on a text holding the separator (it would split wrongly).
 */
export function separatedTexts(texts: readonly string[]): string {
  for (const text of texts)
    if (text.includes(SEPARATOR)) throw new Error('a text holds the record separator U+001E')
  return texts.join(SEPARATOR)
}
