/** Device metrics as people read them. A metric is named by whoever registers its device type, so the
 * screens know the names of the common ones (locale key `metric.<code>`) and show any other by its code. */

import { formatValue } from '../dashboard/format'
import { i18n } from './i18n'

export function metricName(metric: string): string {
  const key = `metric.${metric}`
  return i18n.global.te(key) ? i18n.global.t(key) : metric
}

/** A reading with its unit ("3.6 m", "1.7 %LEL"), or – when there is none. */
export function readingText(value: number | null, unit: string | null): string {
  if (value === null) return '–'
  const figure = formatValue(value, i18n.global.locale.value)
  return unit ? `${figure} ${unit}` : figure
}
