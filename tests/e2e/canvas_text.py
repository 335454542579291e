"""Where ECharts draws its text: canvas labels are no DOM elements, so a page records each `fillText` of a
canvas (text and box in CSS pixels) since that canvas was last cleared whole. And the ECharts instance of a
chart's element, to read the option and the colours it holds: the bundle keeps `echarts.getInstanceByDom`
to itself, so a page records each instance as it is made."""

from __future__ import annotations

from dataclasses import dataclass

from playwright.sync_api import Locator, Page

RECORDER = """(() => {
  const drawn = new WeakMap();
  window.__canvasText = (canvas) => drawn.get(canvas) ?? [];
  const proto = CanvasRenderingContext2D.prototype;
  const clearRect = proto.clearRect;
  proto.clearRect = function (x, y, w, h) {
    if (x <= 0 && y <= 0 && w >= this.canvas.width && h >= this.canvas.height) drawn.set(this.canvas, []);
    return clearRect.call(this, x, y, w, h);
  };
  const fillText = proto.fillText;
  proto.fillText = function (text, x, y, ...rest) {
    const m = this.measureText(text);
    const t = this.getTransform();
    const ratio = this.canvas.width / (this.canvas.clientWidth || this.canvas.width);
    const [a, b] = [[x - m.actualBoundingBoxLeft, y - m.actualBoundingBoxAscent],
                    [x + m.actualBoundingBoxRight, y + m.actualBoundingBoxDescent]]
      .map(([px, py]) => [(t.a * px + t.c * py + t.e) / ratio, (t.b * px + t.d * py + t.f) / ratio]);
    const list = drawn.get(this.canvas) ?? [];
    list.push({ text: String(text), left: Math.min(a[0], b[0]), top: Math.min(a[1], b[1]),
                right: Math.max(a[0], b[0]), bottom: Math.max(a[1], b[1]) });
    drawn.set(this.canvas, list);
    return fillText.call(this, text, x, y, ...rest);
  };
})();"""


CHART_RECORDER = """(() => {
  const charts = new WeakMap();
  window.__chartOf = (element) => charts.get(element);
  // an ECharts instance's constructor sets its own _dom (the element it draws in) first thing: a setter
  // on Object.prototype sees it, keeps the instance and leaves a plain property in its place
  Object.defineProperty(Object.prototype, '_dom', {
    configurable: true,
    set(value) {
      Object.defineProperty(this, '_dom', { value, writable: true, configurable: true, enumerable: true });
      if (value instanceof HTMLElement && typeof this.getOption === 'function') charts.set(value, this);
    },
  });
})();"""


@dataclass(frozen=True)
class DrawnText:
    text: str
    left: float
    top: float
    right: float
    bottom: float

    def intersects(self, other: DrawnText) -> bool:
        return (self.left < other.right and other.left < self.right
                and self.top < other.bottom and other.top < self.bottom)


def record_canvas_text(page: Page) -> None:
    """Record canvas text on every document the page opens from now on."""
    page.add_init_script(script=RECORDER)


def canvas_text(chart: Locator) -> list[DrawnText]:
    """The text drawn on the canvas of a chart's element, in page pixels."""
    canvas = chart.locator("canvas").first
    box = canvas.bounding_box()
    assert box is not None
    return [DrawnText(text=t["text"], left=box["x"] + t["left"], top=box["y"] + t["top"],
                      right=box["x"] + t["right"], bottom=box["y"] + t["bottom"])
            for t in canvas.evaluate("canvas => window.__canvasText(canvas)")]


def record_charts(page: Page) -> None:
    """Record the ECharts instance of each chart element on every document the page opens from now on; a
    chart's element then evaluates ``window.__chartOf(element)`` to its instance."""
    page.add_init_script(script=CHART_RECORDER)
