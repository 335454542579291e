"""The demo city's plan as data: which cities, which units at each level, who handles which
category, and who logs in. Pure: no database, no files.

Names follow Shanghai's usage (市绿化市容局, 区建管委, 街道城运中心 …); Nanjing overrides the units
it names differently (市城市管理局, 区住建局 …). Codes are derived, never numbered by hand:

* department ``<area code>-<kind>`` (``310101-enforcement``, ``310101002-street_office``)
* operations centre ``<area code>-ops``
* grid ``<street code><2 digits>``, community ``<grid code><2 digits>``

Usernames are ``<role>.<level>`` (``admin.city``, ``handler.street``) for Shanghai and carry the
city's prefix elsewhere (``nj.admin.city``), so both demo cities can live in one store and a
username always says which city it belongs to, whichever was loaded first.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from cityops.geo.levels import AreaLevel
from cityops.org.roles import Role

ORIGIN = "demo"
UNIT_LEVELS = (AreaLevel.city, AreaLevel.district, AreaLevel.street)


@dataclass(frozen=True)
class Placeholder:
    """A default location that reporting systems put on cases with no real one (GCJ-02 as
    published by web maps; the loader converts it)."""

    name: str
    gcj_lon: float
    gcj_lat: float
    radius_m: float = 50.0


@dataclass(frozen=True)
class CityPlan:
    key: str
    code: str
    name: str
    districts_file: str
    listing_code: str
    """The city's ``id`` in the street listing (its districts' ``pid``)."""
    username_prefix: str
    placeholder: Placeholder
    unit_names: dict[tuple[AreaLevel, str], str] = field(default_factory=dict)


CITIES: dict[str, CityPlan] = {
    "shanghai": CityPlan(
        key="shanghai", code="310000", name="上海市", districts_file="shanghai_310000_districts.json",
        listing_code="3101", username_prefix="",
        # 上海市人民政府, 人民大道200号 (AMap). Geocoders that only resolve "上海市" return this point too.
        # The map centre a web reporting form defaults to (DataV's `center` for the city), 175 m
        # from 人民广场: reports left at that default carry no real location.
        placeholder=Placeholder("上海市地图默认中心点（DataV center）", 121.472644, 31.231706, radius_m=30.0),
    ),
    "nanjing": CityPlan(
        key="nanjing", code="320100", name="南京市", districts_file="nanjing_320100_districts.json",
        listing_code="3201", username_prefix="nj.",
        # 南京市人民政府, 玄武区北京东路41号 (Tencent Maps geocode).
        placeholder=Placeholder("南京市人民政府（北京东路41号）", 118.79647, 32.05838),
        unit_names={
            (AreaLevel.city, "enforcement"): "城市管理局",
            (AreaLevel.city, "greenery"): "绿化园林局",
            (AreaLevel.city, "construction"): "住房和城乡建设局",
            (AreaLevel.city, "transport"): "交通运输局",
            (AreaLevel.city, "housing"): "房产局",
            (AreaLevel.city, "power"): "国网南京供电公司",
            (AreaLevel.city, "gas"): "南京港华燃气有限公司",
            (AreaLevel.district, "enforcement"): "城市管理局",
            (AreaLevel.district, "greenery"): "园林绿化中心",
            (AreaLevel.district, "construction"): "住房和城乡建设局",
        },
    ),
}

CSV_FILE = "shanghai_nanjing_level4.csv"
DATA_SUBDIR = "china"


@dataclass(frozen=True)
class UnitPlan:
    """A department at one level: ``name`` is appended to the area's name unless ``standalone``
    (utilities carry their own full name)."""

    kind: str
    name: str
    is_area_fallback: bool = False
    standalone: bool = False


DEPARTMENTS: dict[AreaLevel, tuple[UnitPlan, ...]] = {
    AreaLevel.city: (
        UnitPlan("greenery", "绿化市容局"),
        UnitPlan("construction", "住建委"),
        UnitPlan("water", "水务局"),
        UnitPlan("transport", "交通委"),
        UnitPlan("police", "公安局"),
        UnitPlan("traffic_police", "公安局交警总队"),
        UnitPlan("market", "市场监管局"),
        UnitPlan("enforcement", "城管执法局"),
        UnitPlan("environment", "生态环境局"),
        UnitPlan("housing", "房管局"),
        UnitPlan("planning", "规划资源局"),
        UnitPlan("emergency", "应急管理局"),
        UnitPlan("fire", "消防救援总队"),
        UnitPlan("civil_affairs", "民政局"),
        UnitPlan("power", "国网上海市电力公司", standalone=True),
        UnitPlan("gas", "上海燃气集团", standalone=True),
    ),
    AreaLevel.district: (
        UnitPlan("enforcement", "城管执法局"),
        UnitPlan("greenery", "绿化市容局"),
        UnitPlan("construction", "建管委"),
        UnitPlan("water", "水务局"),
        UnitPlan("housing", "房管局"),
        UnitPlan("market", "市场监管局"),
        UnitPlan("environment", "生态环境局"),
        UnitPlan("traffic_police", "交警支队"),
        UnitPlan("police", "公安分局"),
        UnitPlan("planning", "规划资源局"),
        UnitPlan("emergency", "应急管理局"),
        UnitPlan("fire", "消防救援支队"),
        UnitPlan("civil_affairs", "民政局"),
    ),
    AreaLevel.street: (
        # The street's own office takes whatever the matrix leaves unowned there (属地兜底).
        UnitPlan("street_office", "办事处", is_area_fallback=True),
        UnitPlan("enforcement", "城管执法中队"),
        UnitPlan("community", "社区管理办"),
        UnitPlan("housing", "房管办"),
        UnitPlan("safety", "平安办"),
    ),
}

def department_code(area_code: str, kind: str) -> str:
    return f"{area_code}-{kind}"


def ops_centre_code(area_code: str) -> str:
    return f"{area_code}-ops"


def ops_centre_name(area_name: str) -> str:
    return f"{area_name}城运中心"


def department_name(city: CityPlan, level: AreaLevel, unit: UnitPlan, area_name: str) -> str:
    """``黄浦区城管执法局``, ``七宝镇人民政府``, ``南京市城市管理局``, ``国网南京供电公司``."""
    name = city.unit_names.get((level, unit.kind), unit.name)
    if unit.standalone:
        return name
    if unit.kind == "street_office":
        return street_office_name(area_name)
    return area_name + name


def street_office_name(street_name: str) -> str:
    """The office of a street-level unit: 街道办事处, 镇/乡人民政府, 工业区/园区 管委会, 林场/农场 场部."""
    if street_name.endswith("街道"):
        return street_name + "办事处"
    if street_name.endswith(("镇", "乡")):
        return street_name + "人民政府"
    if street_name.endswith(("林场", "农场")):
        return street_name + "场部"
    return street_name + "管理委员会"


# ---- the synthetic areas below a street ------------------------------------------------------

GRIDS_PER_STREET = (4, 6)
COMMUNITIES_PER_GRID = (2, 3)
COMMUNITY_STEMS = ("和平", "幸福", "康乐", "新华", "振兴", "光明", "长春", "丰收", "友谊", "团结",
                   "春晓", "梅园", "桂花", "海棠", "紫藤", "银杏", "明珠", "瑞福", "安居", "乐业",
                   "翠竹", "兰馨", "锦绣", "青松")


def seed_of(code: str) -> int:
    """A stable seed for an area code (Python's ``hash`` changes between processes)."""
    return zlib.crc32(code.encode())


def count_between(code: str, bounds: tuple[int, int], salt: str) -> int:
    low, high = bounds
    return low + seed_of(code + salt) % (high - low + 1)


def grid_count(street_code: str) -> int:
    return count_between(street_code, GRIDS_PER_STREET, "grids")


def community_count(grid_code: str) -> int:
    return count_between(grid_code, COMMUNITIES_PER_GRID, "communities")


def grid_code(street_code: str, number: int) -> str:
    return f"{street_code}{number:02d}"


def grid_name(street_name: str, number: int) -> str:
    return f"{street_name}第{number:02d}网格"


def community_code(grid_code_: str, number: int) -> str:
    return f"{grid_code_}{number:02d}"


def community_names(street_code: str, street_name: str, count: int) -> list[str]:
    """``count`` distinct synthetic names for one street's communities: 居委 under a 街道,
    社区 under a town."""
    if count > len(COMMUNITY_STEMS):
        raise ValueError(f"only {len(COMMUNITY_STEMS)} community names per street")
    start = seed_of(street_code) % len(COMMUNITY_STEMS)
    stems = [COMMUNITY_STEMS[(start + i) % len(COMMUNITY_STEMS)] for i in range(count)]
    suffix = "居委" if street_name.endswith("街道") else "社区"
    return [f"{street_name}{stem}{suffix}" for stem in stems]


# ---- people ------------------------------------------------------------------------------------

ROLE_LABELS: dict[Role, tuple[str, str]] = {
    Role.administrator: ("admin", "系统管理员"),
    Role.operator: ("operator", "受理员"),
    Role.dispatcher: ("dispatcher", "派遣员"),
    Role.handler: ("handler", "处置人员"),
    Role.inspector: ("inspector", "网格员"),
    Role.leader: ("leader", "领导"),
}
HANDLER_DEPARTMENT_KIND: dict[AreaLevel, str] = {
    # a city bureau the matrix gives cases to (bus stops, metro entrances): the city's enforcement
    # bureau has none, street order being the districts' and the streets'
    AreaLevel.city: "transport",
    AreaLevel.district: "enforcement",
    # The street handler works for the fallback office, so unowned cases have someone to go to.
    AreaLevel.street: "street_office",
}


@dataclass(frozen=True)
class UserPlan:
    username: str
    display_name: str
    role: Role
    level: AreaLevel
    area_code: str
    department_code: str | None


def user_plans(city: CityPlan, *, areas: dict[AreaLevel, tuple[str, str]]) -> list[UserPlan]:
    """One user per role and level, bound to ``areas[level]`` = (code, name): the city, its first
    district and that district's first street."""
    plans = []
    for level in UNIT_LEVELS:
        code, name = areas[level]
        for role, (short, label) in ROLE_LABELS.items():
            department = (department_code(code, HANDLER_DEPARTMENT_KIND[level])
                          if role is Role.handler else None)
            plans.append(UserPlan(username=f"{city.username_prefix}{short}.{level.value}",
                                  display_name=f"{name}{label}（演示）", role=role, level=level,
                                  area_code=code, department_code=department))
    return plans


# ---- the responsibility matrix (权责清单) ------------------------------------------------------


@dataclass(frozen=True)
class Duty:
    """Who handles a category: the lead department's kind and the assisting kinds, at the level
    whose departments take it (district by default; utilities and city-run assets at city)."""

    lead: str
    assisting: tuple[str, ...] = ()
    level: AreaLevel = AreaLevel.district
    joint_mode: str = "parallel"


def _duty(lead: str, *assisting: str, level: AreaLevel = AreaLevel.district,
          joint_mode: str = "parallel") -> Duty:
    return Duty(lead=lead, assisting=assisting, level=level, joint_mode=joint_mode)


CITY = AreaLevel.city

# Category code (the seed tree of cityops.categories) → duty. Categories left out on purpose go to
# the street's office (属地兜底): ownerless manholes (C0114), telecom manholes and boxes, district
# heating (none in these cities), fitness equipment, notice boards, air-raid shelters, damaged
# slogans, shared bicycles parked anywhere (E0506), laundry hung in the street (E0603) …
DUTIES: dict[str, Duty] = {
    # 部件 · 公用设施
    "C0101": _duty("water"),
    "C0102": _duty("water"),
    "C0103": _duty("water"),
    "C0104": _duty("water"),
    "C0105": _duty("power", level=CITY),
    "C0106": _duty("construction"),
    "C0111": _duty("gas", level=CITY),
    "C0112": _duty("police"),
    "C0113": _duty("fire"),
    "C0116": _duty("power", level=CITY),
    "C0117": _duty("construction"),
    "C0118": _duty("construction"),
    "C0119": _duty("construction"),
    "C0120": _duty("greenery"),
    "C0121": _duty("greenery", "market"),
    "C0125": _duty("market"),
    # 部件 · 道路交通
    "C0201": _duty("construction", "traffic_police"),
    "C0202": _duty("construction", "traffic_police"),
    "C0203": _duty("transport", level=CITY),
    "C0204": _duty("transport", level=CITY),
    "C0205": _duty("construction"),
    "C0206": _duty("construction"),
    "C0207": _duty("construction", level=CITY),
    "C0208": _duty("construction", "water"),
    "C0209": _duty("traffic_police"),
    "C0210": _duty("traffic_police"),
    "C0211": _duty("traffic_police"),
    "C0213": _duty("civil_affairs"),
    "C0214": _duty("traffic_police"),
    "C0215": _duty("traffic_police"),
    "C0216": _duty("construction"),
    "C0217": _duty("traffic_police"),
    # 部件 · 市容环境
    "C0301": _duty("greenery"),
    "C0302": _duty("greenery", "housing"),
    "C0303": _duty("greenery"),
    "C0304": _duty("greenery"),
    "C0305": _duty("greenery"),
    "C0306": _duty("greenery"),
    "C0307": _duty("greenery", "enforcement"),
    "C0308": _duty("environment"),
    # 部件 · 园林绿化
    "C0401": _duty("greenery"),
    "C0402": _duty("greenery"),
    "C0403": _duty("greenery"),
    "C0404": _duty("greenery"),
    "C0405": _duty("greenery"),
    "C0406": _duty("greenery"),
    "C0407": _duty("greenery"),
    "C0408": _duty("greenery"),
    "C0409": _duty("greenery"),
    "C0410": _duty("greenery"),
    # 部件 · 房屋土地, 其他设施, 扩展部件
    "C0503": _duty("housing"),
    "C0601": _duty("emergency", "environment", "fire"),
    "C0602": _duty("construction"),
    "C0603": _duty("water"),
    "C0604": _duty("water"),
    "C0606": _duty("water"),
    "C0701": _duty("transport", level=CITY),
    "C0702": _duty("transport", level=CITY),
    "C0703": _duty("water"),
    "C0704": _duty("construction"),
    "C0705": _duty("water"),
    "C0706": _duty("greenery"),
    "C0707": _duty("market", "housing"),
    # 事件 · 市容环境
    "E0101": _duty("enforcement", "housing", "planning", joint_mode="serial"),
    "E0102": _duty("greenery"),
    "E0103": _duty("greenery", "enforcement"),
    "E0104": _duty("greenery"),
    "E0105": _duty("water"),
    "E0106": _duty("greenery"),
    "E0107": _duty("police", "greenery"),
    "E0108": _duty("greenery"),
    "E0109": _duty("greenery"),
    "E0110": _duty("greenery"),
    "E0111": _duty("water", "construction"),
    "E0112": _duty("greenery", "construction"),
    # 事件 · 宣传广告
    "E0201": _duty("enforcement"),
    "E0202": _duty("enforcement", "greenery"),
    "E0203": _duty("enforcement"),
    "E0204": _duty("enforcement"),
    # 事件 · 施工管理
    "E0301": _duty("enforcement", "construction"),
    "E0302": _duty("construction", "environment"),
    "E0303": _duty("enforcement", "greenery"),
    "E0304": _duty("enforcement", "greenery"),
    "E0305": _duty("construction"),
    "E0306": _duty("construction"),
    # 事件 · 突发事件
    "E0401": _duty("construction", "water", "traffic_police"),
    "E0402": _duty("water"),
    "E0403": _duty("gas", "fire", level=CITY),
    "E0404": _duty("water"),
    "E0406": _duty("power", level=CITY),
    "E0409": _duty("greenery"),
    "E0411": _duty("fire", "police"),
    # 事件 · 街面秩序, 扩展事件
    "E0501": _duty("enforcement", "market"),
    "E0502": _duty("civil_affairs", "police"),
    "E0503": _duty("enforcement"),
    "E0504": _duty("enforcement", "market"),
    "E0505": _duty("traffic_police"),
    "E0507": _duty("enforcement"),
    "E0508": _duty("enforcement", "environment"),
    "E0509": _duty("traffic_police"),
    "E0510": _duty("enforcement", "environment"),
    "E0602": _duty("enforcement"),
}

# Street order (街面秩序) has moved down to the streets' own enforcement squads (执法力量下沉) in
# the demo city's first district: these cells, on each of its streets, override the district's.
STREET_DUTIES: dict[str, Duty] = {
    "E0501": _duty("enforcement", "market", level=AreaLevel.street),
    "E0503": _duty("enforcement", level=AreaLevel.street),
    "E0504": _duty("enforcement", "market", level=AreaLevel.street),
    "E0507": _duty("enforcement", level=AreaLevel.street),
}


def department_kinds(level: AreaLevel) -> set[str]:
    return {unit.kind for unit in DEPARTMENTS[level]}
