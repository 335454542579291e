/** Names of areas by code, asked of the API once per code: live events carry codes only. */

import { reactive } from 'vue'

import { get } from '../shared/session'

const names = reactive(new Map<string, string>())
const asked = new Set<string>()

export function rememberAreaNames(areas: Iterable<{ code: string; name: string }>): void {
  for (const area of areas) names.set(area.code, area.name)
}

/** The area's name once known (reactive), its code until then. */
export function areaName(code: string): string {
  const known = names.get(code)
  if (known !== undefined) return known
  if (!asked.has(code)) {
    asked.add(code)
    get<{ name: string }>(`/api/v1/areas/${encodeURIComponent(code)}`)
      .then((area) => names.set(code, area.name))
      .catch(() => asked.delete(code))
  }
  return code
}
