/** Names for the codes a case carries (category, area, departments), read once per console visit.
 * A name that cannot be read leaves the code to stand for itself. */

import { get } from '../../shared/session'

interface Named {
  code: string
  name: string
}
interface AreaDetail extends Named {
  chain: Named[]
}

const categories = new Map<string, Promise<string>>()
const areas = new Map<string, Promise<string>>()
let departments: Promise<Map<string, string>> | undefined
const serving = new Map<string, Promise<Map<string, string>>>()

function remembered(cache: Map<string, Promise<string>>, code: string, read: () => Promise<string>): Promise<string> {
  let found = cache.get(code)
  if (!found) {
    found = read().catch(() => code)
    cache.set(code, found)
  }
  return found
}

export function categoryName(code: string): Promise<string> {
  return remembered(categories, code, async () => (await get<Named>(`/api/v1/categories/${encodeURIComponent(code)}`)).name)
}

/** The area with the chain above it in the user's view: 黄浦区 › 南京东路街道 › 网格 3 */
export function areaPath(code: string): Promise<string> {
  return remembered(areas, code, async () => {
    const area = await get<AreaDetail>(`/api/v1/areas/${encodeURIComponent(code)}`)
    return (area.chain.length ? area.chain : [area]).map((a) => a.name).join(' › ')
  })
}

function byCode(list: Named[]): Map<string, string> {
  return new Map(list.map((d) => [d.code, d.name]))
}

/** The departments of the user's jurisdiction and, given a case's area, those serving it from above
 * (a street's staff see the district's bureaus on their cases, which their own list leaves out). */
export async function departmentNames(areaCode?: string | null): Promise<Map<string, string>> {
  departments ??= get<Named[]>('/api/v1/departments')
    .then(byCode)
    .catch(() => {
      departments = undefined
      return new Map<string, string>()
    })
  if (!areaCode) return departments
  let above = serving.get(areaCode)
  if (!above) {
    above = get<Named[]>(`/api/v1/departments?${new URLSearchParams({ serving: areaCode })}`)
      .then(byCode)
      .catch(() => {
        serving.delete(areaCode)
        return new Map<string, string>()
      })
    serving.set(areaCode, above)
  }
  const [own, found] = await Promise.all([departments, above])
  return new Map([...own, ...found])
}
