/** The API's device shapes (cityops.sensing.schemas, quality_api). */

export type DeviceStatus = 'active' | 'maintenance' | 'retired'
export const HEALTHS = ['online', 'offline', 'maintenance', 'retired'] as const
export type Health = (typeof HEALTHS)[number]

export interface Device {
  code: string
  name: string
  type: string
  lon: number
  lat: number
  area_code: string
  department_code: string | null
  installed_on: string | null
  status: DeviceStatus
  last_contact_at: string | null
  online: boolean
  token_hint: string | null
}

export interface DeviceDetail extends Device {
  metrics: Record<string, string>
  latest: { metric: string; unit: string | null; ts: string; value: number; maintenance: boolean }[]
}

export interface DevicePage {
  items: Device[]
  total: number
  limit: number
  offset: number
}

export interface DeviceType {
  code: string
  name: string
  metrics: Record<string, string>
  offline_after_s: number
}

export interface DeviceQuality {
  rank: number
  device: string
  name: string
  type: string
  department: string | null
  area_code: string
  status: string
  expected_windows: number
  reported_windows: number
  online_rate: number | null
  warnings: number
  false_alarms: number
  rejected_cases: number
  false_alarm_rate: number | null
  flags: string[]
}

/** What the map and the table show: maintenance and retirement first, then whether it reports. */
export function healthOf(device: Pick<Device, 'status' | 'online'>): Health {
  if (device.status === 'maintenance') return 'maintenance'
  if (device.status === 'retired') return 'retired'
  return device.online ? 'online' : 'offline'
}

export const HEALTH_COLOURS: Record<Health, string> = {
  online: '#1e7d32',
  offline: '#b3261e',
  maintenance: '#a85400',
  retired: '#5f6b7a',
}
