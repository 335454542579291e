"""Reading the demo city's public data: real district boundaries (GCJ-02 GeoJSON, converted to
WGS84) and the official street/township list (names and codes, no geometry).

The two files come from different sources, so they are cross-checked: a district in one and not
the other, or named differently, is reported in ``warnings`` rather than silently dropped or
guessed. A district with no listed streets is still loaded (without streets); streets whose
district has no boundary are left out.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from cityops.demo.catalogue import CSV_FILE, DATA_SUBDIR, CityPlan
from cityops.errors import InvalidFile, InvalidInput
from cityops.geo.coords import Crs
from cityops.geo.geojson import ParsedFeature, read_feature_collection

CSV_COLUMNS = ("id", "pid", "deep", "name", "ext_id", "ext_name")
DISTRICT_DEPTH = "2"
STREET_DEPTH = "3"


@dataclass(frozen=True)
class StreetRecord:
    code: str
    name: str
    district_code: str


@dataclass
class CitySource:
    districts: list[ParsedFeature]
    """Boundaries in WGS84, ordered by code."""
    streets: dict[str, list[StreetRecord]]
    """District code → its streets, ordered by code."""
    warnings: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def data_folder(data_dir: Path) -> Path:
    folder = Path(data_dir) / DATA_SUBDIR
    if not folder.is_dir():
        raise InvalidInput(f"the public data folder {folder} is missing: the demo city is built from it; "
                           f"set CITYOPS_SHARED_DATA_DIR to the folder that contains {DATA_SUBDIR}/ "
                           "(default ../shared/data)", code="demo_data_missing", field="shared_data_dir")
    return folder


def read_city(city: CityPlan, *, data_dir: Path) -> CitySource:
    folder = data_folder(data_dir)
    boundaries = folder / city.districts_file
    listing = folder / CSV_FILE
    for path in (boundaries, listing):
        if not path.is_file():
            raise InvalidInput(f"{path} is missing from the public data folder", code="demo_data_missing",
                               field="shared_data_dir")
    features = read_feature_collection(boundaries.read_bytes(), code_field="adcode", name_field="name",
                                       crs=Crs.gcj02)
    district_names, streets = read_street_listing(listing.read_text("utf-8-sig"), city_id=city.listing_code)
    source = cross_check(features, district_names, streets)
    source.files = [boundaries, listing]
    return source


def read_street_listing(text: str, *, city_id: str) -> tuple[dict[str, str], dict[str, list[StreetRecord]]]:
    """The districts (code → official name) and streets of the city whose listing ``id`` is
    ``city_id``; ``id`` is the 6-digit district or 9-digit street code, ``ext_name`` the official
    name."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidFile(f"the street listing lacks column(s) {', '.join(missing)}", field="header")
    rows = list(reader)
    districts = {r["id"]: r["ext_name"] for r in rows if r["deep"] == DISTRICT_DEPTH and r["pid"] == city_id}
    streets: dict[str, list[StreetRecord]] = {}
    for row in rows:
        if row["deep"] == STREET_DEPTH and row["pid"] in districts:
            streets.setdefault(row["pid"], []).append(
                StreetRecord(code=row["id"], name=row["ext_name"], district_code=row["pid"]))
    return districts, {code: sorted(found, key=lambda s: s.code) for code, found in sorted(streets.items())}


def cross_check(features: list[ParsedFeature], district_names: dict[str, str],
                streets: dict[str, list[StreetRecord]]) -> CitySource:
    warnings = []
    by_code = {f.code: f for f in features}
    for code in sorted(set(by_code) - set(district_names)):
        warnings.append(f"district {code} {by_code[code].name} has a boundary but is not in the street "
                        "listing: loaded without streets")
    for code in sorted(set(district_names) - set(by_code)):
        count = len(streets.get(code, []))
        warnings.append(f"district {code} {district_names[code]} is in the street listing but has no "
                        f"boundary: its {count} street(s) are left out")
    for code in sorted(set(by_code) & set(district_names)):
        if by_code[code].name != district_names[code]:
            warnings.append(f"district {code} is {by_code[code].name} in the boundary file but "
                            f"{district_names[code]} in the street listing")
        if not streets.get(code):
            warnings.append(f"district {code} {by_code[code].name} has no streets in the listing")
    for feature in features:
        if feature.repaired:
            warnings.append(f"district {feature.code} {feature.name}: {feature.repaired}")
    return CitySource(districts=sorted(features, key=lambda f: f.code),
                      streets={code: found for code, found in streets.items() if code in by_code},
                      warnings=warnings)
