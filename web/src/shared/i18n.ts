import { createI18n } from 'vue-i18n'

import en from '../locales/en.json'
import zhCN from '../locales/zh-CN.json'

export const LOCALES = [
  { code: 'zh-CN', name: '中文' },
  { code: 'en', name: 'English' },
] as const
export type Locale = (typeof LOCALES)[number]['code']

const STORAGE_KEY = 'cityops.locale'

function savedLocale(): Locale {
  const saved = localStorage.getItem(STORAGE_KEY)
  return LOCALES.some((l) => l.code === saved) ? (saved as Locale) : 'zh-CN'
}

// Chinese first; a visitor's choice is remembered across the three pages.
export const i18n = createI18n({
  legacy: false,
  locale: savedLocale(),
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': zhCN, en },
})

export function setLocale(locale: Locale): void {
  i18n.global.locale.value = locale
  localStorage.setItem(STORAGE_KEY, locale)
  document.documentElement.lang = locale
}

document.documentElement.lang = i18n.global.locale.value
