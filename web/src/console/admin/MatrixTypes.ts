/** The responsibility matrix's shapes (GET /api/v1/responsibilities) and how a cell with no entry of its own
 * inherits, as cityops.org.routing.route decides: the most specific area first (the cell's area, then each
 * wider one), within an area the most specific category first; with no entry anywhere, the street's fallback
 * department (属地兜底). Entries whose lead department is inactive are skipped, as the router skips them. */

export type AreaLevel = 'city' | 'district' | 'street' | 'grid' | 'community'
export const AREA_LEVELS: AreaLevel[] = ['city', 'district', 'street', 'grid', 'community']

export interface Cell {
  category_code: string
  category_name: string
  area_code: string
  area_name: string
  area_level: AreaLevel
  lead_department_code: string
  lead_department_name: string
  assisting_department_codes: string[]
  joint_mode: 'parallel' | 'serial'
  note: string | null
  updated_at: string
}

export interface Department {
  code: string
  name: string
  level: 'city' | 'district' | 'street'
  kind: string
  area_code: string
  is_area_fallback: boolean
  active: boolean
}

export interface AreaRef {
  code: string
  name: string
  level: AreaLevel
}

export type Resolved =
  | { kind: 'own'; cell: Cell }
  | { kind: 'inherited'; cell: Cell }
  | { kind: 'fallback'; department: string; departmentName: string; area: AreaRef }
  | { kind: 'nobody' }

export const cellKey = (category: string, area: string): string => `${category}\u0000${area}`

/** What the cell (category chain's first, chain's last area) shows.
 * `categoryChain`: the category, then its parent, … up to its major class.
 * `areaChain`: the areas from the widest (the city) down to the cell's own. */
export function resolve(options: {
  categoryChain: string[]
  areaChain: AreaRef[]
  cells: Map<string, Cell>
  departments: Map<string, Department>
}): Resolved {
  const { categoryChain, areaChain, cells, departments } = options
  const own = cells.get(cellKey(categoryChain[0], areaChain[areaChain.length - 1].code))
  if (own) return { kind: 'own', cell: own }
  for (const area of [...areaChain].reverse()) {
    for (const category of categoryChain) {
      const cell = cells.get(cellKey(category, area.code))
      if (cell && departments.get(cell.lead_department_code)?.active !== false) return { kind: 'inherited', cell }
    }
  }
  const street = areaChain.find((a) => a.level === 'street')
  if (street) {
    const office = [...departments.values()].find((d) => d.is_area_fallback && d.active && d.area_code === street.code)
    if (office) return { kind: 'fallback', department: office.code, departmentName: office.name, area: street }
  }
  return { kind: 'nobody' }
}
