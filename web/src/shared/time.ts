/** Instants as every screen writes them: in the reader's language and time zone, to the minute, or to
 * the second where seconds tell something (readings, warnings, a rule's dry run). */

import { i18n } from './i18n'

/** ``2026/12/01 10:24`` (zh-CN) or ``12/01/2026, 10:24`` (en); with ``seconds``, ``10:24:37``; '' for none. */
export function formatTime(iso: string | Date | null | undefined, { seconds = false } = {}): string {
  if (!iso) return ''
  return new Intl.DateTimeFormat(i18n.global.locale.value, {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
    ...(seconds ? { second: '2-digit' } : {}), hourCycle: 'h23',
  }).format(typeof iso === 'string' ? new Date(iso) : iso)
}
