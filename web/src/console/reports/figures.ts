/** The performance report's shapes (GET /api/v1/reports/performance), how its figures read, and the
 * period the pickers choose as the API wants it (times with the browser's UTC offset). */

export type Grouping = 'department' | 'area' | 'category' | 'month' | 'week'
export type AreaLevel = 'district' | 'street' | 'grid' | 'community'

export interface PerformanceRow {
  group: string
  /** The department's, area's or category's name; none by month or week, or for the "(none)" group. */
  name: string | null
  cases: number
  closure_rate: number | null
  on_time_closure_rate: number | null
  overdue_cases: number
  overdue_rate: number | null
  overdue_now: number
  rework_rate: number | null
  return_rate: number | null
  satisfaction_rate: number | null
  mean_rating: number | null
  median_handling_hours: number | null
  mean_handling_hours: number | null
}

export interface PerformanceReport {
  by: Grouping
  start: string
  end: string
  rows: PerformanceRow[]
}

export type Figure = Exclude<keyof PerformanceRow, 'group' | 'name'>

/** In the order the API's spreadsheet and CSV give them (cityops.analytics.figures). */
export const FIGURES: Figure[] = [
  'cases', 'closure_rate', 'on_time_closure_rate', 'overdue_cases', 'overdue_rate', 'overdue_now', 'rework_rate',
  'return_rate', 'satisfaction_rate', 'mean_rating', 'median_handling_hours', 'mean_handling_hours',
]
export const RATES = new Set<Figure>(['closure_rate', 'on_time_closure_rate', 'overdue_rate', 'rework_rate',
  'return_rate', 'satisfaction_rate'])
export const GROUPINGS: Grouping[] = ['department', 'area', 'category', 'month', 'week']
export const AREA_LEVELS: AreaLevel[] = ['district', 'street', 'grid', 'community']
/** The group the API gives cases with no department, area or category. */
export const NO_GROUP = '(none)'

/** A figure as the table shows it: rates as percentages with one decimal, the rest as the API rounds them;
 * `null` (no case it applies to) as a dash. */
export function formatFigure(figure: Figure, value: number | null): string {
  if (value === null) return '—'
  if (RATES.has(figure)) return `${(value * 100).toFixed(1)}%`
  return String(value)
}

function pad(n: number): string {
  return String(n).padStart(2, '0')
}

export function isoDate(day: Date): string {
  return `${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}`
}

/** Local midnight of `date` (YYYY-MM-DD) as an ISO time with the browser's UTC offset. */
export function localMidnight(date: string): string {
  const [year, month, day] = date.split('-').map(Number)
  const offset = -new Date(year, month - 1, day).getTimezoneOffset()
  const sign = offset >= 0 ? '+' : '-'
  const hours = pad(Math.floor(Math.abs(offset) / 60))
  return `${date}T00:00:00${sign}${hours}:${pad(Math.abs(offset) % 60)}`
}

export function addDays(date: string, days: number): string {
  const [year, month, day] = date.split('-').map(Number)
  return isoDate(new Date(year, month - 1, day + days))
}

/** The query of a report on the days `first` to `last`, both included. */
export function reportQuery(options: { by: Grouping; first: string; last: string; areaLevel: AreaLevel;
  format?: 'json' | 'xlsx' | 'csv' }): string {
  const query = new URLSearchParams({
    by: options.by,
    start: localMidnight(options.first),
    end: localMidnight(addDays(options.last, 1)),
  })
  if (options.by === 'area') query.set('area_level', options.areaLevel)
  if (options.format) query.set('format', options.format)
  return query.toString()
}
