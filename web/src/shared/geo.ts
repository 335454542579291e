/** Area outlines from /api/v1/public/areas, drawn as SVG paths: no map tiles are reachable offline. */

import booleanPointInPolygon from '@turf/boolean-point-in-polygon'

import { request } from './api'

export type Position = [number, number]
export interface Outline {
  code: string
  name: string
  level: string
  center: Position
  rings: Position[][]
  geometry: Geometry
}
export interface Bounds {
  minLon: number
  minLat: number
  maxLon: number
  maxLat: number
}
export interface LonLat {
  lon: number
  lat: number
}

type Geometry = { type: 'Polygon'; coordinates: Position[][] } | { type: 'MultiPolygon'; coordinates: Position[][][] }
interface Feature {
  id: string
  properties: { code: string; name: string; level: string; center: Position }
  geometry: Geometry
}

const METRES_PER_PIXEL_AT_ZOOM_0 = 156_543.03392
const METRES_PER_DEGREE = 111_320

export async function fetchOutlines(level: string, zoom: number, parent?: string): Promise<Outline[]> {
  const query = new URLSearchParams({ level, zoom: String(zoom) })
  if (parent) query.set('parent', parent)
  const body = await request<{ features: Feature[] }>(`/api/v1/public/areas?${query}`)
  return body.features.map((f) => ({
    ...f.properties,
    rings: f.geometry.type === 'Polygon' ? f.geometry.coordinates : f.geometry.coordinates.flat(),
    geometry: f.geometry,
  }))
}

export function boundsOf(outlines: Outline[]): Bounds {
  const b = { minLon: Infinity, minLat: Infinity, maxLon: -Infinity, maxLat: -Infinity }
  for (const outline of outlines)
    for (const ring of outline.rings)
      for (const [lon, lat] of ring) {
        b.minLon = Math.min(b.minLon, lon)
        b.maxLon = Math.max(b.maxLon, lon)
        b.minLat = Math.min(b.minLat, lat)
        b.maxLat = Math.max(b.maxLat, lat)
      }
  return b
}

/** A degree of longitude at ``lat`` as a share of a degree of latitude on the ground. */
function lonScale(lat: number): number {
  return Math.cos((lat * Math.PI) / 180)
}

/** The `aspectScale` of an ECharts geo or map drawing ``bounds``: a degree of longitude drawn as long as it is
 * on the ground at their middle latitude, so an equirectangular map is true to shape across one city (ECharts'
 * default, 0.75, stretches Shanghai north–south by an eighth). */
export function trueAspect(bounds: Bounds): number {
  return lonScale((bounds.minLat + bounds.maxLat) / 2)
}

/** The web-map zoom level at which ``bounds`` fill about ``pixels`` screen pixels across. */
export function zoomFor(bounds: Bounds, pixels: number): number {
  const scale = trueAspect(bounds)
  const widthM = (bounds.maxLon - bounds.minLon) * METRES_PER_DEGREE * scale
  const zoom = Math.log2((METRES_PER_PIXEL_AT_ZOOM_0 * scale * pixels) / widthM)
  return Math.min(18, Math.max(6, Math.round(zoom)))
}

/** An equirectangular projection around ``originLat``: exact enough across one city. */
export class Projection {
  private readonly scale: number

  constructor(originLat: number) {
    this.scale = lonScale(originLat)
  }

  point([lon, lat]: Position): [number, number] {
    return [lon * this.scale, -lat]
  }

  invert(x: number, y: number): LonLat {
    return { lon: x / this.scale, lat: -y }
  }

  path(rings: Position[][]): string {
    return rings
      .map((ring) => 'M' + ring.map((p) => this.point(p).map((v) => v.toFixed(5)).join(',')).join('L') + 'Z')
      .join('')
  }

  viewBox(b: Bounds, margin = 0.03): string {
    const [x0, y0] = this.point([b.minLon, b.maxLat])
    const [x1, y1] = this.point([b.maxLon, b.minLat])
    const mx = (x1 - x0) * margin
    const my = (y1 - y0) * margin
    return `${x0 - mx} ${y0 - my} ${x1 - x0 + 2 * mx} ${y1 - y0 + 2 * my}`
  }
}

/** Whether ``point`` lies inside ``outline`` (holes excluded). */
export function contains(outline: Outline, { lon, lat }: LonLat): boolean {
  return booleanPointInPolygon([lon, lat], outline.geometry)
}

/** How far ``point`` lies from ``outline`` in ``projection``'s units (0 inside it): the nearest of its edges. */
export function distanceTo(outline: Outline, point: LonLat, projection: Projection): number {
  if (contains(outline, point)) return 0
  const [px, py] = projection.point([point.lon, point.lat])
  let nearest = Infinity
  for (const ring of outline.rings)
    for (let i = 1; i < ring.length; i++) {
      const [ax, ay] = projection.point(ring[i - 1])
      const [bx, by] = projection.point(ring[i])
      const dx = bx - ax
      const dy = by - ay
      const along = dx || dy ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy))) : 0
      nearest = Math.min(nearest, Math.hypot(px - (ax + along * dx), py - (ay + along * dy)))
    }
  return nearest
}

/** The outline holding ``point`` or, when none does, the nearest one within ``within`` (projection units). */
export function outlineAt(outlines: Outline[], point: LonLat, projection: Projection, within: number): Outline | null {
  let best: Outline | null = null
  let bestDistance = within
  for (const outline of outlines) {
    const distance = distanceTo(outline, point, projection)
    if (distance === 0) return outline
    if (distance <= bestDistance) {
      best = outline
      bestDistance = distance
    }
  }
  return best
}
