/** Names of devices by code, asked of the API once per code: warnings carry their origin's code only,
 * and an origin that is not a device (an indicator's area) keeps its code. */

import { reactive } from 'vue'

import { get } from '../../shared/session'

const names = reactive(new Map<string, string>())
const asked = new Set<string>()

export function rememberDeviceNames(devices: Iterable<{ code: string; name: string }>): void {
  for (const device of devices) names.set(device.code, device.name)
}

/** The device's name once known (reactive), or undefined. */
export function deviceName(code: string): string | undefined {
  const known = names.get(code)
  if (known !== undefined || asked.has(code)) return known
  asked.add(code)
  get<{ name: string }>(`/api/v1/devices/${encodeURIComponent(code)}`)
    .then((device) => names.set(code, device.name))
    .catch(() => undefined)
  return undefined
}
