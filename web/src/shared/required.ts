/** A form's required fields, checked before anything is sent: a field left empty is asked for by its
 * label (请填写…). */

import { i18n } from './i18n'

/** Each required field of a form: whether it is empty now, and its label. */
export type RequiredFields<F extends string = string> = Partial<Record<F, [empty: boolean, label: string]>>

/** The label of ``field`` when it is required and left empty; undefined for a field filled in. */
export function emptyLabel<F extends string>(required: RequiredFields<F>, field: F): string | undefined {
  const [isEmpty, label] = required[field] ?? [false, '']
  return isEmpty ? label : undefined
}

/** What a page shows on each required field left empty, by field: 请填写 and its label. */
export function emptyFields<F extends string>(required: RequiredFields<F>): Partial<Record<F, string>> {
  const asked: Partial<Record<F, string>> = {}
  for (const field of Object.keys(required) as F[]) {
    const label = emptyLabel(required, field)
    if (label !== undefined) asked[field] = i18n.global.t('common.needValue', { label })
  }
  return asked
}
