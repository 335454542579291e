/** The performance report's shapes (GET /api/v1/reports/performance), how its figures read, and the
 * period the pickers choose as the API wants it (times with the browser's UTC offset). */

export type Grouping = 'department' | 'area' | 'category' | 'month' | 'week'
export type AreaLevel = 'district' | 'street' | 'grid' | 'community'

export interface PerformanceRow {
  /** The group's code; "all" for the totals; null for the cases with no department (never dispatched), area
   * or category. */
  group: string | null
  /** The department's, area's or category's name (the null group's in the language asked for: 未分派, 未指定);
   * none by month or week. */
  name: string | null
  cases: number
  registered: number
  closed: number
  closure_rate: number | null
  closed_on_time: number
  on_time_closure_rate: number | null
  overdue_cases: number
  overdue_rate: number | null
  overdue_now: number
  handled: number
  reworked: number
  rework_rate: number | null
  dispatches: number
  returns: number
  return_rate: number | null
  rated: number
  satisfied: number
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
  /** All the cases of the period as one group, read off the same timelines (not the rows' rates added up). */
  total: PerformanceRow
  /** What each figure and the group column count, in the language asked for (cityops.analytics.figures). */
  explanations: Record<string, string>
}

/** A figure's explanation as its column's help gives it: a rate's formula, then what its numerator counts. */
export function explainFigure(explanations: Record<string, string>, figure: Figure | 'group'): string {
  const own = explanations[figure] ?? ''
  if (figure === 'group' || !isRate(figure)) return own
  const numerator = explanations[RATE_PARTS[figure][0]]
  return numerator ? `${own} ${numerator}` : own
}

export type Count = 'cases' | 'registered' | 'closed' | 'closed_on_time' | 'overdue_cases' | 'handled' | 'reworked'
  | 'dispatches' | 'returns' | 'rated' | 'satisfied'
export type Rate = 'closure_rate' | 'on_time_closure_rate' | 'overdue_rate' | 'rework_rate' | 'return_rate'
  | 'satisfaction_rate'
/** The figures the table gives a column each (a rate with the two counts it divides beneath it). */
export type Figure = Rate | 'cases' | 'overdue_cases' | 'overdue_now' | 'mean_rating' | 'median_handling_hours'
  | 'mean_handling_hours'

/** In the order the API's spreadsheet and CSV give them (cityops.analytics.figures.MAIN_FIGURES). */
export const FIGURES: Figure[] = [
  'cases', 'closure_rate', 'on_time_closure_rate', 'overdue_cases', 'overdue_rate', 'overdue_now', 'rework_rate',
  'return_rate', 'satisfaction_rate', 'mean_rating', 'median_handling_hours', 'mean_handling_hours',
]
/** Each rate's numerator and denominator (cityops.analytics.figures.RATE_PARTS). */
export const RATE_PARTS: Record<Rate, [Count, Count]> = {
  closure_rate: ['closed', 'registered'],
  on_time_closure_rate: ['closed_on_time', 'closed'],
  overdue_rate: ['overdue_cases', 'cases'],
  rework_rate: ['reworked', 'handled'],
  return_rate: ['returns', 'dispatches'],
  satisfaction_rate: ['satisfied', 'rated'],
}
export const RATES = new Set<Figure>(Object.keys(RATE_PARTS) as Rate[])
export const GROUPINGS: Grouping[] = ['department', 'area', 'category', 'month', 'week']
export const AREA_LEVELS: AreaLevel[] = ['district', 'street', 'grid', 'community']

export function isRate(figure: Figure): figure is Rate {
  return RATES.has(figure)
}

/** A figure as the table shows it: rates as percentages with one decimal, the rest as the API rounds them;
 * `null` (a rate with nothing to divide by, or no case it applies to) as a dash. */
export function formatFigure(figure: Figure, value: number | null): string {
  if (value === null) return '—'
  if (RATES.has(figure)) return `${(value * 100).toFixed(1)}%`
  return String(value)
}

/** The two counts a rate divides, as "3/4". */
export function rateParts(row: PerformanceRow, rate: Rate): string {
  const [part, whole] = RATE_PARTS[rate]
  return `${row[part]}/${row[whole]}`
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
  format?: 'json' | 'xlsx' | 'csv'; lang?: string }): string {
  const query = new URLSearchParams({
    by: options.by,
    start: localMidnight(options.first),
    end: localMidnight(addDays(options.last, 1)),
  })
  if (options.by === 'area') query.set('area_level', options.areaLevel)
  if (options.format) query.set('format', options.format)
  // the file's headings and group names in the screen's language (the API's default is Chinese)
  if (options.format && options.format !== 'json' && options.lang === 'en') query.set('lang', 'en')
  return query.toString()
}
