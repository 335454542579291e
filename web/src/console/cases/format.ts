/** Times and the words of a case as the console shows them. */

import { i18n } from '../../shared/i18n'

/** A message under ``prefix`` for ``key``, or the key itself when there is none (a new channel,
 * step or action the console has no words for yet). */
export function word(prefix: string, key: string | null | undefined): string {
  if (!key) return ''
  const path = `${prefix}.${key}`
  return i18n.global.te(path) ? i18n.global.t(path) : key
}

const LIMIT = /^(\d+)(wh|wd|m|h|d)$/

/** A step's time limit as the API writes it (30m, 4h, 3d, 2wh, 5wd) in words: 2 个工作时 / 2 working hours;
 * minutes past the hour in hours and minutes (a summons' 670m: 11 小时 10 分钟). */
export function formatLimit(limit: string): string {
  const found = LIMIT.exec(limit.trim())
  if (!found) return limit
  const n = Number(found[1])
  if (found[2] === 'm' && n >= 60) {
    const hours = Math.floor(n / 60)
    return [i18n.global.t('console.case.unit.h', { n: hours }, hours),
      ...(n % 60 ? [i18n.global.t('console.case.unit.m', { n: n % 60 }, n % 60)] : [])].join(' ')
  }
  return i18n.global.t(`console.case.unit.${found[2]}`, { n }, n)
}
