/** The API's warning rules (cityops.sensing.rules_api) as the console reads them. */

export const WARNING_LEVELS = ['blue', 'yellow', 'orange', 'red'] as const
export type WarningLevel = (typeof WARNING_LEVELS)[number]

export const LEVEL_COLOURS: Record<WarningLevel, string> = {
  blue: '#2b6cd1',
  yellow: '#d6a300',
  orange: '#e0701a',
  red: '#c62828',
}

export interface RuleDefinition {
  kind: 'threshold' | 'rate' | 'no_data'
  metric: string | null
  comparison: 'above' | 'below'
  scope: { device_type: string | null; area: string | null; indicator: string | null }
  levels: { level: WarningLevel; fire_at: number; clear_at: number }[]
  silence_levels: { level: WarningLevel; after_s: number }[]
  for_s: number | null
  clear_for_s: number | null
  rate_window_s: number | null
  rate_per_s: number | null
  allowed_lateness_s: number | null
  open_case_from: WarningLevel | null
  case_category: string | null
}

export interface RuleOut {
  id: number
  code: string
  name: string
  kind: string
  metric: string | null
  definition: RuleDefinition
  active: boolean
  /** as recorded: a user's login name, an API client's or a system's name */
  author: string
  /** the name to show: the current display name of the user who wrote it, else the author */
  author_display_name: string
  created_at: string
  deactivated_at: string | null
}

export interface DryRunOut {
  rule: string
  device: string
  metric: string
  events: { kind: 'fired' | 'level_changed' | 'cleared'; at: string; level: WarningLevel | null;
    previous_level: WarningLevel | null; value: number | null }[]
  episodes: { fired_at: string; cleared_at: string | null; first_level: WarningLevel; peak_level: WarningLevel }[]
}

export function rank(level: WarningLevel | null): number {
  return level ? WARNING_LEVELS.indexOf(level) + 1 : 0
}
