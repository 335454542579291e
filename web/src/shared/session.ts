/** The signed-in staff member of the dashboard and the console: the API's bearer token (kept for the
 * browser tab) and who they are. */

import { ref } from 'vue'

import { ApiError, request } from './api'

export interface Me {
  kind: 'user' | 'client'
  name: string
  display_name: string | null
  roles: string[]
  area_code: string
  area_level: string
  department_code: string | null
  permissions: string[]
}

const TOKEN_KEY = 'cityops.token'

export const token = ref(sessionStorage.getItem(TOKEN_KEY) ?? '')
export const me = ref<Me>()

export function authorization(): Record<string, string> {
  return { Authorization: `Bearer ${token.value}` }
}

/** A call of the API as the signed-in user; a refused token signs them out. */
export async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  try {
    return await request<T>(path, { ...init, headers: { ...authorization(), ...init.headers } })
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) signOut()
    throw error
  }
}

export function get<T>(path: string): Promise<T> {
  return call<T>(path)
}

/** A POST, PUT or PATCH with a JSON body (or none). */
export function send<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
  return call<T>(path, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
}

export async function signIn(username: string, password: string): Promise<void> {
  const body = await request<{ access_token: string }>('/api/v1/auth/token', {
    method: 'POST',
    body: new URLSearchParams({ username, password }),
  })
  token.value = body.access_token
  sessionStorage.setItem(TOKEN_KEY, token.value)
  await loadMe()
}

export async function loadMe(): Promise<void> {
  me.value = await get<Me>('/api/v1/me')
}

export function hasRole(...roles: string[]): boolean {
  return roles.some((role) => me.value?.roles.includes(role))
}

export function signOut(): void {
  token.value = ''
  me.value = undefined
  sessionStorage.removeItem(TOKEN_KEY)
}
