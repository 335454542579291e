/** Area names on the dashboard map placed so that none covers another: a big screen is read from across
 * the room, and the city centre's small districts (黄浦, 静安, 虹口) would otherwise print over each other.
 *
 * ECharts calls a series' `labelLayout` once per label, in data order, on every layout (roaming included).
 * The areas are given smallest first, so each small area keeps its label on its own inside point; a larger
 * one, with room to spare, moves its label to the nearest free spot, inside its own box when one is free.
 * A label with no free spot near its area is left where it was and ECharts' `hideOverlap` hides whichever of
 * two overlapping labels names the smaller area (the name is still in the tooltip and the keyboard list). */

interface Rect {
  x: number
  y: number
  width: number
  height: number
}
interface LabelLayoutParams {
  dataIndex: number
  /** the label's box where ECharts put it, in the chart's pixels */
  labelRect: Rect
  /** the box of the area the label names */
  rect: Rect
}
export interface LabelPlacement {
  dx?: number
  dy?: number
  hideOverlap?: boolean
}

/** Clear space kept around each name, in pixels. */
const GAP = 2
/** How far (in label heights) a name may move from its area's point. */
const REACH = 3

function collides(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.width + GAP && b.x < a.x + a.width + GAP && a.y < b.y + b.height + GAP && b.y < a.y + a.height + GAP
}

function centreInside(label: Rect, area: Rect): boolean {
  const x = label.x + label.width / 2
  const y = label.y + label.height / 2
  return x >= area.x && x <= area.x + area.width && y >= area.y && y <= area.y + area.height
}

/** Moves to try, nearest first: steps of half a label height up and down, half a label width sideways. */
function moves(label: Rect): [number, number][] {
  const found: [number, number][] = []
  const stepY = (label.height + GAP) / 2
  const stepX = (label.width + GAP) / 2
  const steps = REACH * 2
  for (let i = -steps; i <= steps; i++)
    for (let j = -steps; j <= steps; j++) found.push([j * stepX, i * stepY])
  return found.sort(([ax, ay], [bx, by]) => Math.hypot(ax, ay) - Math.hypot(bx, by))
}

/** A `labelLayout` callback for one map series; ``bounds`` gives the chart's size when called. */
export function labelPlacer(bounds: () => { width: number; height: number }): (params: LabelLayoutParams) => LabelPlacement {
  let placed: Rect[] = []
  let last = Infinity
  return ({ dataIndex, labelRect, rect }) => {
    // a new layout starts again at the first label
    if (dataIndex <= last) placed = []
    last = dataIndex
    const { width, height } = bounds()
    const candidates = moves(labelRect).map(([dx, dy]) => ({
      dx, dy, box: { ...labelRect, x: labelRect.x + dx, y: labelRect.y + dy },
    })).filter(({ box }) => box.x >= 0 && box.y >= 0 && box.x + box.width <= width && box.y + box.height <= height
      && !placed.some((other) => collides(box, other)))
    const chosen = candidates.find(({ dx, dy, box }) => (dx === 0 && dy === 0) || centreInside(box, rect)) ?? candidates[0]
    if (!chosen) return { hideOverlap: true }
    placed.push(chosen.box)
    return { dx: chosen.dx, dy: chosen.dy, hideOverlap: true }
  }
}
