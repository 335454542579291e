"""The SVG map of areas."""

import xml.etree.ElementTree as ET

import pytest
from shapely.geometry import MultiPolygon, box

from cityops.geo.render import MapArea, areas_svg


def test_each_area_is_one_titled_path_coloured_by_group() -> None:
    areas = [MapArea("A", "甲街道", box(121.0, 31.0, 121.1, 31.1), group="d1"),
             MapArea("B", "乙街道", MultiPolygon([box(121.1, 31.0, 121.2, 31.1), box(121.3, 31.0, 121.4, 31.1)]),
                     group="d2")]
    root = ET.fromstring(areas_svg(areas, width=400, title="两条街道"))
    paths = root.findall("{http://www.w3.org/2000/svg}path")
    assert [p.find("{http://www.w3.org/2000/svg}title").text for p in paths] == ["A 甲街道", "B 乙街道"]
    assert paths[0].get("fill") != paths[1].get("fill")
    assert paths[1].get("d").count("M") == 2  # both parts of the multipolygon are drawn
    xs = [float(v.split(",")[0]) for p in paths for v in p.get("d").replace("M", " L").split(" L")[1:]
          if v and "," in v]
    assert min(xs) == pytest.approx(10.0) and max(xs) == pytest.approx(390.0, abs=0.1)


def test_nothing_to_draw_is_an_error() -> None:
    with pytest.raises(ValueError):
        areas_svg([])
