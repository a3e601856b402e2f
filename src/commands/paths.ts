// Output paths checked before anything is read: an output that is one of the inputs (or another
// output) would be overwritten or interleaved mid-run, and a directory cannot be written at all.
import { existsSync, statSync } from 'node:fs'
import { extname } from 'node:path'
import { UsageError } from '../errors.ts'
import { fileIdentities } from '../sources/files.ts'

export interface OutputPath {
  /** The option that names it, for the message: `--alerts`. */
  flag: string
  path: string
  /** File name endings the output must have (lower case, with the dot): ['.html', '.htm']. */
  extensions?: readonly string[]
}

/**
 * Refuses, as a one-line UsageError, an output that is an existing directory, lacks its required
 * ending, is one of the inputs, or is the same file as another output. `-` (standard input) is not
 * a file among the inputs.
 */
export function checkOutputs(inputs: readonly string[], outputs: readonly OutputPath[]): void {
  const inputIds = new Map<string, string>()
  for (const input of inputs)
    if (input !== '-') for (const id of fileIdentities(input)) inputIds.set(id, input)
  const outputIds = new Map<string, OutputPath>()
  for (const output of outputs) {
    const { flag, path, extensions } = output
    if (existsSync(path) && statSync(path).isDirectory())
      throw new UsageError(`${flag} ${path}: is a directory (expected a file name)`)
    if (extensions !== undefined && !extensions.includes(extname(path).toLowerCase()))
      throw new UsageError(`${flag} ${path}: expected a file name ending in ${extensions.join(' or ')}`)
    const ids = fileIdentities(path)
    const input = ids.map((id) => inputIds.get(id)).find((found) => found !== undefined)
    if (input !== undefined)
      throw new UsageError(`${flag} ${path}: is the input ${input}; writing it would destroy what is read`)
    const other = ids.map((id) => outputIds.get(id)).find((found) => found !== undefined)
    if (other !== undefined)
      throw new UsageError(`${flag} ${path}: is also the ${other.flag} output; give each output its own file`)
    for (const id of ids) outputIds.set(id, output)
  }
}
