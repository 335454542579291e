/** The signed-in user of the dashboard: the API's bearer token (kept for the browser tab) and who they are. */

import { ref } from 'vue'

import { ApiError, request } from '../shared/api'

export interface Me {
  name: string
  display_name: string | null
  roles: string[]
  area_code: string
  area_level: string
}

const TOKEN_KEY = 'cityops.token'

export const token = ref(sessionStorage.getItem(TOKEN_KEY) ?? '')
export const me = ref<Me>()

export function authorization(): Record<string, string> {
  return { Authorization: `Bearer ${token.value}` }
}

/** A GET of the API as the signed-in user; a refused token signs them out. */
export async function get<T>(path: string): Promise<T> {
  try {
    return await request<T>(path, { headers: authorization() })
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) signOut()
    throw error
  }
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

export function signOut(): void {
  token.value = ''
  me.value = undefined
  sessionStorage.removeItem(TOKEN_KEY)
}
