// Runs a Python snippet and returns its JSON output: Python's math and statistics modules are an
// implementation independent of ours, so they make honest reference values.
export function pythonJson<T>(code: string, stdin?: string): T {
  const result = Bun.spawnSync(['python3', '-c', code], {
    stdin: stdin === undefined ? 'ignore' : Buffer.from(stdin),
  })
  if (result.exitCode !== 0) throw new Error(`python3 failed: ${result.stderr.toString()}`)
  return JSON.parse(result.stdout.toString()) as T
}
