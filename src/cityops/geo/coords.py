"""Coordinate systems used by Chinese map data, and conversion between them.

* **WGS84** – GPS and everything international; CityOps stores this.
* **GCJ-02** – China's obfuscated datum (AMap, Tencent, DataV boundary files): WGS84 shifted by a
  non-linear function of position, 100–700 m in practice.
* **BD-09** – Baidu's further rotation of GCJ-02.

WGS84 → GCJ-02 is the published formula on the Krasovsky ellipsoid. There is no closed-form inverse,
so GCJ-02 → WGS84 iterates that formula until it reproduces the input to :data:`INVERSE_TOLERANCE_DEG`
(about 0.1 mm); the one-step inverse found in many libraries is off by up to 5 m.
GCJ-02 → BD-09 is Baidu's published formula; its published inverse is itself approximate (up to
20 cm), so BD-09 → GCJ-02 starts from it and iterates the same way. Both apply everywhere, as in
every library that publishes them.

The GCJ-02 shift applies only inside the usual rough bounding box of China (:func:`in_china`), so
points abroad pass through unchanged; the box also takes in some neighbouring countries, which is
what every published implementation does and what the map providers match in practice.

All functions work on floats and on numpy arrays alike.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry


class Crs(StrEnum):
    wgs84 = "wgs84"
    gcj02 = "gcj02"
    bd09 = "bd09"


KRASOVSKY_A = 6378245.0
KRASOVSKY_EE = 0.00669342162296594323
BD_X_PI = np.pi * 3000.0 / 180.0
INVERSE_TOLERANCE_DEG = 1e-9
_MAX_INVERSE_ITERATIONS = 10


def in_china(lon, lat):
    """The rough box (72.004–137.8347 E, 0.8293–55.8271 N) inside which GCJ-02 is shifted."""
    return (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)


def _shift_lat(x, y):
    shift = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    shift += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    shift += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    shift += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return shift


def _shift_lon(x, y):
    shift = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    shift += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    shift += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    shift += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return shift


def _wgs84_to_gcj02(lon, lat):
    x, y = lon - 105.0, lat - 35.0
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - KRASOVSKY_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = _shift_lat(x, y) * 180.0 / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = _shift_lon(x, y) * 180.0 / (KRASOVSKY_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    inside = in_china(lon, lat)
    return lon + np.where(inside, d_lon, 0.0), lat + np.where(inside, d_lat, 0.0)


def _invert(forward, lon, lat, guess_lon, guess_lat):
    """The point that ``forward`` maps to (lon, lat), by fixed-point iteration from a first guess:
    move the guess by however far its forward image misses the target. The shifts change slowly
    with position, so each step gains two or more digits and a handful reach the tolerance."""
    for _ in range(_MAX_INVERSE_ITERATIONS):
        image_lon, image_lat = forward(guess_lon, guess_lat)
        miss_lon, miss_lat = image_lon - lon, image_lat - lat
        guess_lon, guess_lat = guess_lon - miss_lon, guess_lat - miss_lat
        # Written as "no miss is large" so that a NaN input (which never converges) does not count.
        if not np.any(np.maximum(np.abs(miss_lon), np.abs(miss_lat)) >= INVERSE_TOLERANCE_DEG):
            break
    return guess_lon, guess_lat


def _gcj02_to_wgs84(lon, lat):
    # Points outside China map to themselves, so they stop at the first step.
    return _invert(_wgs84_to_gcj02, lon, lat, lon, lat)


def _gcj02_to_bd09(lon, lat):
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * BD_X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * BD_X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd09_to_gcj02_published(lon, lat):
    x, y = lon - 0.0065, lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * BD_X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _bd09_to_gcj02(lon, lat):
    # Baidu's published inverse is off by up to 2e-6 degrees (20 cm); refine it like GCJ-02.
    return _invert(_gcj02_to_bd09, lon, lat, *_bd09_to_gcj02_published(lon, lat))


# Every conversion goes through GCJ-02: one step to it, one step from it.
_TO_GCJ02 = {Crs.wgs84: _wgs84_to_gcj02, Crs.bd09: _bd09_to_gcj02}
_FROM_GCJ02 = {Crs.wgs84: _gcj02_to_wgs84, Crs.bd09: _gcj02_to_bd09}


def _convert(lon, lat, source: Crs, target: Crs):
    source, target = Crs(source), Crs(target)
    if source is target:
        return lon, lat
    if source is not Crs.gcj02:
        lon, lat = _TO_GCJ02[source](lon, lat)
    if target is not Crs.gcj02:
        lon, lat = _FROM_GCJ02[target](lon, lat)
    return lon, lat


def convert(lon: float, lat: float, *, source: Crs, target: Crs) -> tuple[float, float]:
    """One point from ``source`` to ``target``; (lon, lat) in degrees both ways."""
    out_lon, out_lat = _convert(float(lon), float(lat), source, target)
    return float(out_lon), float(out_lat)


def convert_many(lons: np.ndarray, lats: np.ndarray, *, source: Crs, target: Crs
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Arrays of points from ``source`` to ``target``; always returns new float64 arrays."""
    lons = np.array(lons, dtype=np.float64)
    lats = np.array(lats, dtype=np.float64)
    if lons.shape != lats.shape:
        raise ValueError(f"lons {lons.shape} and lats {lats.shape} differ in shape")
    out_lon, out_lat = _convert(lons, lats, source, target)
    return np.asarray(out_lon, dtype=np.float64), np.asarray(out_lat, dtype=np.float64)


def convert_geometry(geom: BaseGeometry, *, source: Crs, target: Crs) -> BaseGeometry:
    """Any shapely geometry, vertex by vertex (z values, if any, are dropped)."""
    if Crs(source) is Crs(target):
        return geom

    def convert_xy(coords: np.ndarray) -> np.ndarray:
        lons, lats = convert_many(coords[:, 0], coords[:, 1], source=source, target=target)
        return np.column_stack((lons, lats))

    return shapely.transform(geom, convert_xy)
