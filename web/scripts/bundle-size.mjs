// The JavaScript a page loads before it can be used (its entry and the chunks the entry imports
// statically, not those loaded later), gzipped; the citizen page must stay within its budget.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

const DIST = new URL('../../src/cityops/web/dist/', import.meta.url).pathname
const BUDGET_KB = { 'citizen/index.html': 300 }
const manifest = JSON.parse(readFileSync(join(DIST, '.vite/manifest.json'), 'utf8'))

function firstLoad(key, seen = new Set()) {
  if (seen.has(key)) return seen
  seen.add(key)
  for (const imported of manifest[key].imports ?? []) firstLoad(imported, seen)
  return seen
}

function gzippedKb(files) {
  return files.reduce((sum, file) => sum + gzipSync(readFileSync(join(DIST, file)), { level: 9 }).length, 0) / 1000
}

let over = false
for (const [key, chunk] of Object.entries(manifest)) {
  if (!chunk.isEntry) continue
  const first = [...firstLoad(key)].map((k) => manifest[k].file).filter((f) => f.endsWith('.js'))
  const lazy = (chunk.dynamicImports ?? []).flatMap((k) => [...firstLoad(k)]).map((k) => manifest[k].file)
  const kb = gzippedKb(first)
  const withViews = gzippedKb([...new Set([...first, ...lazy.filter((f) => f.endsWith('.js'))])])
  const budget = BUDGET_KB[key]
  console.log(`${key}: ${kb.toFixed(1)} kB of JavaScript gzipped on first load, ${withViews.toFixed(1)} kB with ` +
    `all its views${budget ? ` (budget ${budget} kB)` : ''}`)
  if (budget && withViews > budget) over = true
}
if (over) {
  console.error('a page is over its JavaScript budget')
  process.exit(1)
}
