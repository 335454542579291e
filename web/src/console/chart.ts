/** An ECharts chart in a component's element: made when the component is mounted, resized with its element,
 * disposed of when the component goes. */

import * as echarts from 'echarts/core'
import { onBeforeUnmount, onMounted, type Ref } from 'vue'

/** Whether ``chart`` has an area to lay itself out in. A box with no width or height (hidden, or a page
 * squeezed to nothing for a moment, as a full-page screenshot does) gives a geo or map a transform that
 * cannot be inverted, and ECharts then fails with "Cannot read properties of null (reading '0')". */
export function hasRoom(chart: echarts.ECharts): boolean {
  return chart.getWidth() > 0 && chart.getHeight() > 0
}

/** The chart once mounted (``ready`` is called with it then), undefined before. ``roomy`` is called each
 * time the chart has been resized to a box with room, so a drawing put off for want of room can be made. */
export function useChart(
  element: Ref<HTMLElement | undefined>,
  ready: (chart: echarts.ECharts) => void,
  roomy?: (chart: echarts.ECharts) => void,
): () => echarts.ECharts | undefined {
  let chart: echarts.ECharts | undefined
  const resizing = new ResizeObserver(([entry]) => {
    const { width, height } = entry.contentRect
    // a chart is not laid out in nothing: it is resized again when its box has room
    if (!chart || width === 0 || height === 0) return
    chart.resize()
    roomy?.(chart)
  })
  onMounted(() => {
    chart = echarts.init(element.value!)
    resizing.observe(element.value!)
    ready(chart)
  })
  onBeforeUnmount(() => {
    resizing.disconnect()
    chart?.dispose()
    chart = undefined
  })
  return () => chart
}
