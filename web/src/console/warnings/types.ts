/** The API's warning and silence shapes (cityops.sensing.rules_api). */

import type { EntryCause } from '../../shared/warningReason'
import { i18n } from '../../shared/i18n'

export const LEVELS = ['blue', 'yellow', 'orange', 'red'] as const
export type Level = (typeof LEVELS)[number]
export const STATUSES = ['firing', 'acknowledged', 'resolved', 'false_alarm', 'converted'] as const
export type WarningStatus = (typeof STATUSES)[number]
/** The board's tabs: the statuses a warning may be in while it has no case or still follows its readings
 * with one, and every warning with a case (opened by its rule or converted by a person, alike). A
 * converted warning is found under hasCase, so the status has no tab of its own. */
export const TABS = ['firing', 'acknowledged', 'resolved', 'false_alarm', 'hasCase'] as const
export type Tab = (typeof TABS)[number]

export interface WarningEntry {
  version: number
  action: string
  from_status: WarningStatus | null
  to_status: WarningStatus
  from_level: Level | null
  to_level: Level
  actor_role: string
  /** as recorded: a user's login name (the system's entries: 'system'), for audit */
  actor_name: string
  /** the name to show: a user's current display name (the recorded name when the user is gone) */
  actor_display_name: string
  at: string
  /** the API's words (English for a failed case opening) */
  reason: string | null
  /** of a failed case opening: the refusal by its problem code, for the screen to say in the user's words */
  cause: EntryCause | null
  value: number | null
  case_id: number | null
}


export interface Warning {
  id: number
  rule: string
  rule_name: string
  /** the device's code, or the area code of an indicator's series */
  origin: string
  /** the device's name, or the area's */
  origin_name: string | null
  metric: string
  /** the unit of value and of the entries' values */
  unit: string | null
  status: WarningStatus
  level: Level
  peak_level: Level
  value: number | null
  area_code: string
  /** that area's name: a warning is named by it, its rule's name and level (warningName) */
  area_name: string | null
  fired_at: string
  updated_at: string
  closed_at: string | null
  /** its case, opened by its rule (the status stays) or converted by a person (converted) */
  case_id: number | null
  /** that case's tracking code, as queues and case pages name it */
  case_tracking_code: string | null
  entries: WarningEntry[]
}

export interface WarningPage {
  items: Warning[]
  total: number
  limit: number
  offset: number
}

export interface Silence {
  id: number
  matchers: Record<string, string>
  starts_at: string
  ends_at: string
  /** as recorded: a user's login name, or an API client's name */
  author: string
  /** the name to show: the current display name of the user who set it, else the author */
  author_display_name: string
  reason: string
}

/** Where a person may still act on a warning (warnings.TABLE): firing or acknowledged. */
export function isActive(warning: Warning): boolean {
  return warning.status === 'firing' || warning.status === 'acknowledged'
}

/** The levels the warning went through, in order, each once per stay (yellow → orange → red → orange). */
export function levelHistory(warning: Warning): Level[] {
  const path: Level[] = []
  for (const entry of warning.entries) if (path[path.length - 1] !== entry.to_level) path.push(entry.to_level)
  return path
}

/** A warning's case as the screens link it: by id, named by its tracking code. */
export interface CaseLink {
  id: number
  code: string
}

/** The warning's case, whether its rule opened it or a person converted the warning; none without one. */
export function caseOf(warning: Warning): CaseLink | undefined {
  if (warning.case_id === null) return undefined
  return { id: warning.case_id, code: warning.case_tracking_code ?? `#${warning.case_id}` }
}

/** A warning as staff name it, never by its id: its area, its rule's name and level (外滩街道 河道水位超限黄色预警),
 * as the board's rows and the inbox's lines show it. */
export function warningName(warning: Warning): string {
  const { t } = i18n.global
  return t('console.warnings.name', { area: warning.area_name ?? warning.area_code, rule: warning.rule_name,
    level: t(`console.warnings.level.${warning.level}`) })
}
