// Generated event streams for the integration tests: realistic, with every kind of bad input.
import { DEFAULT_GENERATE_OPTIONS, type GenerateOptions } from '../../src/generate/options.ts'
import { lineText } from '../../src/generate/record.ts'
import { generateEvents } from '../../src/generate/stream.ts'

/** JSONL lines with 2 % malformed, 2 % duplicated and 3 % late events unless told otherwise. */
export function generatedLines(options: Partial<GenerateOptions>): string[] {
  return [
    ...generateEvents({
      ...DEFAULT_GENERATE_OPTIONS,
      malformedRate: 0.02,
      duplicateRate: 0.02,
      lateRate: 0.03,
      ...options,
    }),
  ].map(lineText)
}
