/** Names for the codes a case carries (category, area, departments), read once per console visit.
 * A name that cannot be read (a department outside one's view) leaves the code to stand for itself. */

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

export async function departmentNames(): Promise<Map<string, string>> {
  departments ??= get<Named[]>('/api/v1/departments')
    .then((list) => new Map(list.map((d) => [d.code, d.name])))
    .catch(() => {
      departments = undefined
      return new Map<string, string>()
    })
  return departments
}
