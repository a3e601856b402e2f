import { defineCommand } from 'citty'
import { loadSettings, settingArgs } from '../config.ts'
import { UsageError } from '../errors.ts'

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
    // 0 tells consume to serve no endpoint; there is nothing to ask then.
    if (metricsPort === 0)
      throw new UsageError(
        `invalid METRICS_PORT=0${args['metrics-port'] === undefined ? '' : ' (from --metrics-port)'}: health needs the port consume serves /healthz on (1-65535); 0 means consume serves none`,
      )
    const url = `http://127.0.0.1:${metricsPort}/healthz`
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(3_000) })
      const text = `${response.status} ${await response.text()}`
      // Ready: the answer is the result (stdout); not ready: it is the reason for exit 1 (stderr).
      if (response.ok) console.log(text)
      else console.error(`invpipe: not ready: ${text}`)
      process.exitCode = response.ok ? 0 : 1
    } catch (error) {
      console.error(`invpipe: ${url}: ${(error as Error).message}`)
      process.exitCode = 1
    }
  },
})
