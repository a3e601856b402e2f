// The backtest's HTML page in a real headless browser: Debian's chromium, installed by
// scripts/ensure-chromium.sh when missing. Nothing is skipped: without a browser this test fails
// and says why.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { invpipe } from './support/cli.ts'

// Bun's 5 s default is too short for a test that spawns processes on 2 loaded cores.
setDefaultTimeout(60_000)

const ROOT = join(import.meta.dir, '..')
const CHARTS = ['reliability-diagram', 'roc-curve', 'pr-curve']
const dir = mkdtempSync(join(tmpdir(), 'invpipe-backtest-html-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let chromium = ''
let page = ''

beforeAll(() => {
  const ensure = Bun.spawnSync(['bash', join(ROOT, 'scripts/ensure-chromium.sh')], { stderr: 'pipe' })
  if (ensure.exitCode !== 0) {
    throw new Error(
      `this test needs a headless browser and none could be installed: ${ensure.stderr.toString().trim()}`,
    )
  }
  chromium = ensure.stdout.toString().trim()
  // A realistic page (generated events), not only the tiny fixtures.
  const events = join(dir, 'events.jsonl')
  const generate = Bun.spawnSync(
    [
      'bun',
      join(ROOT, 'src/main.ts'),
      'generate',
      '--events',
      '20000',
      '--skus',
      '40',
      '--warehouses',
      '2',
      '--days',
      '60',
      '--output',
      events,
    ],
    { stdout: 'ignore', stderr: 'pipe' },
  )
  if (generate.exitCode !== 0) throw new Error(generate.stderr.toString())
  page = join(dir, 'backtest.html')
  const run = invpipe(['backtest', events, '--html', page])
  if (run.code !== 0) throw new Error(run.stderr)
})

/** Runs chromium headless on a file with the flags of a sandbox-less, offline CI machine. */
function browse(file: string, mode: string[]): { stdout: string; stderr: string } {
  const profile = mkdtempSync(join(dir, 'profile-'))
  const proc = Bun.spawnSync(
    [
      chromium,
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profile}`,
      '--window-size=1280,1600',
      ...mode,
      `file://${file}`,
    ],
    { stdout: 'pipe', stderr: 'pipe', timeout: 90_000 },
  )
  const stdout = proc.stdout.toString()
  const stderr = proc.stderr.toString()
  if (proc.exitCode !== 0) throw new Error(`chromium exited with ${proc.exitCode}: ${stderr.slice(-2000)}`)
  return { stdout, stderr }
}

describe('the backtest HTML page in headless chromium', () => {
  test('is self-contained: no script, no external resource', () => {
    const html = readFileSync(page, 'utf8')
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i)
    // The only URL is the SVG namespace, which is a name, never fetched.
    const urls = html.match(/https?:\/\/[^\s"'<>]+/g) ?? []
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg']))
  })

  test('the rendered DOM holds the three charts as SVG with their marks', () => {
    const dom = browse(page, ['--dump-dom']).stdout
    expect(dom).toContain('How good were the stockout-risk predictions?')
    for (const id of CHARTS) {
      const start = dom.indexOf(`<svg id="${id}"`)
      expect(start).toBeGreaterThan(-1)
      const svg = dom.slice(start, dom.indexOf('</svg>', start))
      expect(svg).toContain('<title')
      expect((svg.match(/<line /g) ?? []).length).toBeGreaterThan(10) // grid and reference lines
    }
    const roc = dom.slice(dom.indexOf('<svg id="roc-curve"'))
    expect(roc).toContain('<polyline class="series" id="roc-model"')
    const pr = dom.slice(dom.indexOf('<svg id="pr-curve"'))
    expect(pr).toContain('<polyline class="series" id="pr-model"')
    const reliability = dom.slice(
      dom.indexOf('<svg id="reliability-diagram"'),
      dom.indexOf('<svg id="roc-curve"'),
    )
    expect((reliability.match(/<circle class="bin"/g) ?? []).length).toBeGreaterThan(3)
    // The operating points drawn on the ROC and precision-recall charts have their legend.
    for (const id of ['roc-curve', 'pr-curve']) {
      const start = dom.indexOf(`<svg id="${id}"`)
      const svg = dom.slice(start, dom.indexOf('</svg>', start))
      expect(svg).toContain('model alerting at stockout_risk ≥ 0.5')
      expect(svg).toContain('naive baseline (its one yes/no rule)')
    }
  })

  test('the verdict comes first; the scores are explained; segments and missed stockouts are tables', () => {
    const dom = browse(page, ['--dump-dom']).stdout
    const verdict = /<p class="verdict" id="verdict"><strong>Verdict:<\/strong> ([^<]*)<\/p>/.exec(dom)
    expect(verdict).not.toBeNull()
    expect(verdict?.[1]).toMatch(/ECE \d\.\d{3}\); Brier skill -?\d\.\d\d: /)
    expect(dom.indexOf('id="verdict"')).toBeLessThan(dom.indexOf('<h2>'))
    for (const term of ['Brier skill', 'ROC AUC', 'calibration error'])
      expect(dom).toContain(`<dt>${term}</dt>`)
    const segments = dom.slice(dom.indexOf('<caption>The model per segment of items</caption>'))
    for (const label of ['fast movers', 'slow movers', 'intermittent demand', 'with purchase orders'])
      expect(segments).toContain(`<th scope="row">${label}</th>`)
    const missed = dom.slice(dom.indexOf('<p id="missed">'))
    expect(missed).toMatch(/^<p id="missed">\d+ of \d+ stockouts had no alert/)
    const rows = (missed.slice(0, missed.indexOf('</table>')).match(/<tr><th scope="row">/g) ?? []).length
    expect(rows).toBeGreaterThan(0)
    expect(rows).toBeLessThanOrEqual(50)
  })

  test('laid out: each chart has a size on the page and curves of non-zero length', () => {
    // A copy of the page with a probe appended: the browser measures the laid-out SVG elements and
    // writes the figures into the DOM, which --dump-dom then prints. The product page has no script.
    const probe = `<script>
const out = {}
for (const id of ${JSON.stringify(CHARTS)}) {
  const svg = document.getElementById(id)
  if (svg === null) { out[id] = null; continue }
  const box = svg.getBoundingClientRect()
  out[id] = {
    namespace: svg.namespaceURI,
    width: box.width,
    height: box.height,
    marks: svg.querySelectorAll('polyline, circle, rect, line').length,
    curveLength: [...svg.querySelectorAll('polyline')].reduce((sum, p) => sum + p.getTotalLength(), 0),
  }
}
const pre = document.createElement('pre')
pre.id = 'probe'
pre.textContent = JSON.stringify(out)
document.body.appendChild(pre)
</script>`
    const probed = join(dir, 'probed.html')
    writeFileSync(probed, readFileSync(page, 'utf8').replace('</body>', `${probe}</body>`))
    const dom = browse(probed, ['--dump-dom']).stdout
    const match = /<pre id="probe">([^<]*)<\/pre>/.exec(dom)
    if (match === null) throw new Error(`the probe did not run; DOM starts: ${dom.slice(0, 300)}`)
    const layout = JSON.parse((match[1] as string).replaceAll('&amp;', '&')) as Record<
      string,
      { namespace: string; width: number; height: number; marks: number; curveLength: number } | null
    >
    for (const id of CHARTS) {
      const chart = layout[id]
      expect(chart).not.toBeNull()
      expect(chart?.namespace).toBe('http://www.w3.org/2000/svg')
      expect(chart?.width).toBeGreaterThan(200)
      expect(chart?.height).toBeGreaterThan(200)
      expect(chart?.marks).toBeGreaterThan(10)
      expect(chart?.curveLength).toBeGreaterThan(100)
    }
  })

  test('a screenshot can be taken', () => {
    const png = join(dir, 'page.png')
    browse(page, [`--screenshot=${png}`])
    const bytes = readFileSync(png)
    expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG')
    expect(bytes.readUInt32BE(16)).toBe(1280) // IHDR width
    expect(statSync(png).size).toBeGreaterThan(20_000) // a blank page compresses to a few kB
  })
})
