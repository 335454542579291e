/** Names of devices by code, asked of the API once per code: warnings carry their origin's code only,
 * and an origin that is not a device (an indicator's area) keeps its code. */

import { reactive } from 'vue'

import { ApiError } from '../../shared/api'
import { get } from '../../shared/session'

const ATTEMPTS = 3
const names = reactive(new Map<string, string>())
const asked = new Set<string>()

async function ask(code: string, attempt = 1): Promise<void> {
  try {
    const device = await get<{ name: string }>(`/api/v1/devices/${encodeURIComponent(code)}`)
    names.set(code, device.name)
  } catch (error) {
    // not a device (or not one of the user's): the code is all there is; anything else may pass
    if (error instanceof ApiError && error.status < 500) return
    if (attempt < ATTEMPTS) setTimeout(() => void ask(code, attempt + 1), 2000 * attempt)
  }
}

/** The device's name once known (reactive), or undefined. */
export function deviceName(code: string): string | undefined {
  const known = names.get(code)
  if (known === undefined && !asked.has(code)) {
    asked.add(code)
    void ask(code)
  }
  return known
}
