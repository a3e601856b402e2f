import { defineCommand } from 'citty'
import { loadSettings, settingArgs } from '../config.ts'

/** The container HEALTHCHECK: the image has no curl, and the binary already speaks HTTP. */
export const healthCommand = defineCommand({
  meta: {
    name: 'health',
    description:
      "Ask a running consume instance's /healthz (on 127.0.0.1:METRICS_PORT); exit 0 when ready, 1 when not.\n" +
      'Example:\n  invpipe health --metrics-port 9464',
  },
  args: settingArgs(['metricsPort']),
  async run({ args }) {
    const { metricsPort } = loadSettings(['metricsPort'], args)
    const url = `http://127.0.0.1:${metricsPort}/healthz`
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(3_000) })
      console.log(`${response.status} ${await response.text()}`)
      process.exitCode = response.ok ? 0 : 1
    } catch (error) {
      console.log(`${url}: ${(error as Error).message}`)
      process.exitCode = 1
    }
  },
})
