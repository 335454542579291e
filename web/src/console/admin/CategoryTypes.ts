/** The categories API's shapes (GET /api/v1/categories/tree, /categories/{code}) and time limits as
 * cityops.categories.time_limits writes them: an amount and a unit, `30m`, `4h`, `3d`, `2wh`, `5wd`. */

export type Kind = 'component' | 'event' | 'message'
export const KINDS: Kind[] = ['component', 'event', 'message']
export type Step = 'register' | 'dispatch' | 'acknowledge' | 'handle' | 'verify'
export const STEPS: Step[] = ['register', 'dispatch', 'acknowledge', 'handle', 'verify']
export type Limits = Partial<Record<Step, string>>

export interface CategoryNode {
  code: string
  name: string
  kind: Kind
  active: boolean
  time_limits: Limits
  children: CategoryNode[]
}

export interface EffectiveLimit {
  limit: string
  words: string
  working_time: boolean
  /** the category that sets it; null: the platform default */
  source: string | null
}

export interface CategoryDetail {
  code: string
  name: string
  kind: Kind
  parent_code: string | null
  depth: number
  active: boolean
  time_limits: Limits
  path: string[]
  effective_limits: Record<Step, EffectiveLimit>
  origin: string
  updated_at: string
}

// the API's LIMIT_PATTERN (surrounding blanks are trimmed first, as the API's parser does)
const LIMIT = /^([1-9][0-9]{0,5})(m|h|d|wh|wd)$/

/** `2wh` → amount and unit; anything else → undefined. */
export function parseLimit(text: string): { amount: number; unit: 'm' | 'h' | 'd' | 'wh' | 'wd' } | undefined {
  const match = LIMIT.exec(text.trim())
  return match ? { amount: Number(match[1]), unit: match[2] as 'm' | 'h' | 'd' | 'wh' | 'wd' } : undefined
}

/** The categories in tree order, each with its depth (for a parent picker). */
export function flatten(nodes: CategoryNode[], depth = 0): { node: CategoryNode; depth: number }[] {
  return nodes.flatMap((node) => [{ node, depth }, ...flatten(node.children, depth + 1)])
}
