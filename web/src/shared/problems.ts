/** The words a page shows for a failed call: the API's own (problem+json ``detail``), or the network's failure. */

import { ApiError } from './api'
import { i18n } from './i18n'

/** The API's ``detail`` for an error answer; "network error" for a call that got no answer. */
export function errorDetail(error: unknown): string {
  return error instanceof ApiError ? error.message : i18n.global.t('common.networkError')
}

/** The text for an error of a call: "Error: <the API's detail>", or "network error" alone. */
export function problemText(error: unknown): string {
  const t = i18n.global.t
  return error instanceof ApiError ? t('common.error', { detail: error.message }) : t('common.networkError')
}
