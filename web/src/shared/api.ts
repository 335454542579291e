/** Calls to the CityOps API; an error answer (RFC 9457 problem+json) becomes an ApiError. */

import { i18n } from './i18n'

/** A refused call. ``message`` is what a page shows: the words of the user's language for the problem's
 * ``code`` where the locale has them (the API writes its details in English), else the API's ``detail``. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly field?: string,
  ) {
    const key = `problem.${code}`
    super(i18n.global.te(key, i18n.global.locale.value) ? i18n.global.t(key) : detail)
  }
}

/** The ApiError of an error answer; its problem+json body as read (the caller may want more of it). */
export async function problemOf(response: Response): Promise<{ error: ApiError; body: Record<string, unknown> }> {
  const body = await response.json().catch(() => ({}))
  const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)
  const error = new ApiError(response.status, text(body.code) ?? `http_${response.status}`,
    text(body.detail) ?? response.statusText, text(body.field))
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
