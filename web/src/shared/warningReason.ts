/** Why a warning's history entry was made, in the user's words: the console's warning drawer and the
 * dashboard's detail drawer both show it. */

import { hasProblemWords, problemWords, type Values } from './api'
import { i18n } from './i18n'
import { formatTime } from './time'

i18n.global.mergeLocaleMessage('zh-CN', { warningEntry: { caseNotOpened: '连续第 {failures} 次：{cause}；{next} 起重试' } })
i18n.global.mergeLocaleMessage('en', {
  warningEntry: { caseNotOpened: 'failure {failures} in a row: {cause}; tried again from {next}' },
})

/** A failed case opening's refusal, by its problem code, as the API gives it on the entry. */
export interface EntryCause {
  code: string
  values: Values
  /** failed openings in a row, this one included */
  failures: number
  next_attempt_at: string
}

/** A failed case opening by its problem code (the locale's problem.* texts, as the inbox and every refused
 * call say it), with the failures in a row and when it is tried again; else, for a code the locale has no
 * text for or an entry recorded before its cause was kept, the API's own words. */
export function entryReason(entry: { reason: string | null; cause?: EntryCause | null }): string | null {
  const cause = entry.cause
  if (!cause || !hasProblemWords(cause.code)) return entry.reason
  return i18n.global.t('warningEntry.caseNotOpened', {
    failures: cause.failures, cause: problemWords(cause.code, '', cause.values),
    next: formatTime(cause.next_attempt_at, { seconds: true }) || '–',
  })
}
