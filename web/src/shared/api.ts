/** Calls to the CityOps API; an error answer (RFC 9457 problem+json) becomes an ApiError. */

import { i18n } from './i18n'

/** The first of a refused request's validation errors (problem+json ``errors``): pydantic's ``type``,
 * its limits (min_length, pattern …) and the value given, when short. */
export interface Validation {
  type: string
  ctx: Record<string, string | number | boolean>
  input?: string
}

/** The words of the user's language for a refusal where the locale has them (the API writes its
 * details in English): by the validation error's type, else by the problem's code, its text filled in
 * with the problem's own members (``{max_days}``: the limit it names); else the API's own. */
function shown(code: string, detail: string, validation?: Validation, values: Values = {}): string {
  const { t, te, locale } = i18n.global
  const byType = validation && `validation.${validation.type}`
  if (byType && te(byType, locale.value)) return t(byType, { ...validation.ctx, input: validation.input ?? '' })
  return problemWords(code, detail, values)
}

/** A problem's words in the user's language by its code (the locale's problem.* catalogue, filled in with
 * the problem's members), else the API's ``detail``: for a refusal a call met, or one a notification tells of. */
export function problemWords(code: string, detail: string, values: Values = {}): string {
  return hasProblemWords(code) ? i18n.global.t(`problem.${code}`, values) : detail
}

/** Whether the user's language itself has words for a problem's code (not those of the fallback language). */
export function hasProblemWords(code: string): boolean {
  const { te, locale } = i18n.global
  return te(`problem.${code}`, locale.value)
}

export type Values = Record<string, string | number>

/** A problem's members that a text can name: those that are a word or a number. */
function valuesOf(body: Record<string, unknown>): Values {
  return Object.fromEntries(Object.entries(body).filter(
    (entry): entry is [string, string | number] => typeof entry[1] === 'string' || typeof entry[1] === 'number'))
}

/** A refused call. ``message`` is what a page shows (``shown``); ``detail`` is the API's. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly field?: string,
    readonly validation?: Validation,
    values: Values = {},
  ) {
    super(shown(code, detail, validation, values))
  }
}

/** The ApiError of an error answer; its problem+json body as read (the caller may want more of it). */
export async function problemOf(response: Response): Promise<{ error: ApiError; body: Record<string, unknown> }> {
  const body = await response.json().catch(() => ({}))
  const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)
  const first = Array.isArray(body.errors) ? body.errors[0] : undefined
  const validation = first && typeof first.type === 'string'
    ? { type: first.type, ctx: first.ctx ?? {}, input: text(first.input) } : undefined
  const error = new ApiError(response.status, text(body.code) ?? `http_${response.status}`,
    text(body.detail) ?? response.statusText, text(body.field), validation, valuesOf(body))
  return { error, body }
}

export async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(path, { ...init, headers: { Accept: 'application/json', ...init.headers } })
  if (!response.ok) throw (await problemOf(response)).error
  // a DELETE answers 204 with no body
  if (response.status === 204) return undefined as T
  return (await response.json()) as T
}

export function postJson<T>(path: string, body: unknown, headers: Record<string, string> = {}): Promise<T> {
  return request<T>(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
}
