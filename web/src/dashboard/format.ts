/** Figures as people read them: indicator values are averages and need no more than two decimals. */

export function formatValue(value: number, locale: string): string {
  return new Intl.NumberFormat(locale, { maximumFractionDigits: 2 }).format(value)
}
