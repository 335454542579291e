/** An ECharts chart in a component's element: made when the component is mounted, resized with its element,
 * disposed of when the component goes. */

import * as echarts from 'echarts/core'
import { onBeforeUnmount, onMounted, type Ref } from 'vue'

/** The chart once mounted (``ready`` is called with it then), undefined before. */
export function useChart(
  element: Ref<HTMLElement | undefined>,
  ready: (chart: echarts.ECharts) => void,
): () => echarts.ECharts | undefined {
  let chart: echarts.ECharts | undefined
  const resizing = new ResizeObserver(() => chart?.resize())
  onMounted(() => {
    chart = echarts.init(element.value!)
    resizing.observe(element.value!)
    ready(chart)
  })
  onBeforeUnmount(() => {
    resizing.disconnect()
    chart?.dispose()
  })
  return () => chart
}
