"""The demo city's month of cases as data: how many end where (their fates), from which channels, of
which categories, and the Chinese words they are told in. Pure: no database, no clock; the same seed
gives the same plan. ``cityops.demo.cases`` takes each plan through the live pipeline.

Fates are quotas, not draws, so that even a small demo has a case at every stage a screen shows.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from cityops.cases.channels import Channel
from cityops.cases.states import CaseStatus

T = TypeVar("T")


class Fate(StrEnum):
    """Where a demo case's history ends."""

    closed = "closed"
    closed_late = "closed_late"
    """Handled after its deadline, then closed."""
    reworked = "reworked"
    """Failed its first verification, was handled again and closed."""
    returned = "returned"
    """Returned by the department it was dispatched to, dispatched again and closed."""
    extended = "extended"
    """Its handling was extended at the department's request, then closed."""
    closed_at_centre = "closed_at_centre"
    """Answered by the hotline and closed at the centre without a department (直接办结)."""
    rejected = "rejected"
    duplicate = "duplicate"
    """A second report of a problem just reported nearby: the pipeline merges it."""
    summoned = "summoned"
    """In progress when the street summoned two departments (吹哨报到); they reported in; closed."""
    to_register = "to_register"
    to_dispatch = "to_dispatch"
    to_acknowledge = "to_acknowledge"
    in_progress = "in_progress"
    to_verify = "to_verify"
    overdue_to_dispatch = "overdue_to_dispatch"
    overdue_to_acknowledge = "overdue_to_acknowledge"
    overdue_in_progress = "overdue_in_progress"


# Shares of all the cases; ``closed`` takes what the others leave. Summonses are counted, not shared.
FATE_SHARES: dict[Fate, float] = {
    Fate.closed_late: 0.07, Fate.reworked: 0.05, Fate.returned: 0.05, Fate.extended: 0.03,
    Fate.closed_at_centre: 0.03, Fate.rejected: 0.02, Fate.duplicate: 0.03,
    Fate.to_register: 0.03, Fate.to_dispatch: 0.03, Fate.to_acknowledge: 0.04, Fate.in_progress: 0.06,
    Fate.to_verify: 0.04, Fate.overdue_to_dispatch: 0.005, Fate.overdue_to_acknowledge: 0.01,
    Fate.overdue_in_progress: 0.01,
}
SUMMONSES = 2
STOPS_AT: dict[Fate, CaseStatus] = {
    Fate.to_register: CaseStatus.reported, Fate.to_dispatch: CaseStatus.registered,
    Fate.overdue_to_dispatch: CaseStatus.registered, Fate.to_acknowledge: CaseStatus.dispatched,
    Fate.overdue_to_acknowledge: CaseStatus.dispatched, Fate.in_progress: CaseStatus.in_progress,
    Fate.overdue_in_progress: CaseStatus.in_progress, Fate.to_verify: CaseStatus.handled,
}
"""The status an open case is left in."""
OVERDUE = frozenset({Fate.overdue_to_dispatch, Fate.overdue_to_acknowledge, Fate.overdue_in_progress})
RECENT = frozenset(STOPS_AT) - OVERDUE
"""Open and within their deadlines: opened in the last hours."""
AT_THE_CENTRE = frozenset({Fate.to_register, Fate.to_dispatch, Fate.overdue_to_dispatch, Fate.rejected,
                           Fate.closed_at_centre})
"""Fates that wait for an operator, which reports from a trusted channel skip (registered at intake)."""

CHANNEL_WEIGHTS: dict[Channel, int] = {
    Channel.hotline_12345: 40, Channel.grid_patrol: 20, Channel.citizen_photo: 14, Channel.video_ai: 6,
    Channel.open311: 6, Channel.public_suggestion: 5, Channel.iot_warning: 5, Channel.department_system: 4,
}
CITIZEN_CHANNELS = frozenset({Channel.hotline_12345, Channel.citizen_photo, Channel.open311,
                              Channel.public_suggestion})
"""Channels a citizen reports through, who can then rate the result."""

# What people report most (垃圾, 违法停车, 道路破损, 噪声 …) weighs most; every code is one the demo's
# responsibility matrix routes (E0506 and E0603 to the street's office, 属地兜底).
CATEGORY_WEIGHTS: dict[str, int] = {
    "E0102": 14, "E0505": 12, "E0306": 9, "E0508": 7, "E0103": 6, "E0504": 6, "E0506": 6, "E0301": 5,
    "E0507": 5, "E0201": 5, "E0104": 4, "C0118": 4, "C0103": 3, "C0102": 3, "E0404": 3, "E0501": 3,
    "E0510": 3, "E0101": 2, "E0302": 2, "E0111": 2, "C0402": 2, "C0305": 2, "C0210": 2, "C0209": 1,
    "C0113": 1, "E0603": 1, "E0106": 1, "C0301": 1, "E0602": 1, "E0402": 1,
}
# Machines see only some problems: level and manhole sensors, and cameras on the street.
MACHINE_CATEGORIES: dict[Channel, tuple[str, ...]] = {
    Channel.iot_warning: ("C0102", "C0103", "E0111", "E0402", "E0404"),
    Channel.video_ai: ("E0102", "E0505", "E0504", "E0506", "E0501", "E0510"),
}
# Short handling limits (a few working hours): a case of these left in progress for days is overdue.
QUICK_CATEGORIES = ("E0102", "E0505", "E0104", "E0506", "E0510")


class Where(StrEnum):
    """Where a demo case is reported: where the demo's street-level logins work (their street), where
    the district-level ones work (their district), or anywhere in the city."""

    first_street = "first_street"
    first_district = "first_district"
    anywhere = "anywhere"


FIRST_STREET_SHARE = 0.1
FIRST_DISTRICT_SHARE = 0.2
"""Shares of the cases placed where the street and district logins work, so their queues hold some."""
HANDLER_CATEGORIES: dict[Where, tuple[str, ...]] = {
    Where.first_street: ("E0506", "E0603"),  # no bureau has them: the street's own office (属地兜底)
    Where.first_district: ("E0201", "E0203", "E0204"),  # the district's enforcement bureau, alone
    Where.anywhere: ("C0203", "C0701"),  # the city's transport bureau: bus stops, metro entrances
}
"""Categories the demo's matrix leaves to the department of the handler login where it works."""
HANDLER_WORK: dict[Fate, int] = {Fate.to_acknowledge: 1, Fate.in_progress: 1}
"""Open cases of these fates reported where each handler login works and left with its department, so
each has a case to acknowledge and one to handle (drawn, most cases go to other bureaus)."""

PLACES = ("小区门口", "菜场旁", "地铁站出口", "公交站旁", "学校门口", "路口", "人行道上", "商场后门", "沿街商铺前",
          "弄堂口", "停车场入口", "公园东门", "河道边", "医院门口", "超市门口", "桥下", "绿化带旁", "社区服务中心旁")
ASKS = ("希望尽快处理。", "已持续好几天，请相关部门处理。", "影响居民出行，请尽快解决。", "存在安全隐患，望及时处置。",
        "多次反映未解决，请跟进。", "请派人到现场看一下。")
HANDLING_REPORTS = (
    "已到现场处置完毕，现场已恢复正常。", "已安排人员清理整改，并告知相关责任人，后续加强巡查。",
    "经现场核实，已责令当事人整改到位，拍照留档。", "已联系养护单位修复，现场已恢复。",
    "已会同属地街道现场处置，问题已解决。", "已处置完毕，已电话告知市民处理结果。",
)
RETURN_REASONS = (
    "经现场核实，该问题不属于本单位职责范围，请重新派遣。", "该点位权属为小区物业管理区域，不在本单位养护范围内。",
    "派遣地址有误，现场未发现所述问题，请核实后重新派遣。",
)
REWORK_REASONS = (
    "复核发现现场仍未清理到位，请返工。", "复核时问题仍然存在，市民反映未解决，请重新处置。",
    "整改不彻底，现场仍有残留，请返工处理。",
)
EXTENSION_REASONS = ("需协调相关单位并采购维修材料，申请延期处置。", "涉及多家权属单位，需联合现场会商，申请延期。")
REJECT_REASONS = (
    "经核实现场无此问题，不予立案。", "反映内容属民事纠纷，已告知市民通过法律途径解决，不予立案。",
    "反映内容不属于城市管理范围，已告知市民向相关单位反映。",
)
CENTRE_CLOSING_REASONS = ("热线当场解答，市民表示认可，直接办结。", "已电话联系市民说明政策，市民无异议，直接办结。")
SUMMONS_REASON = "问题涉及多个部门，街道吹哨，请相关部门到现场报到会商。"
RATING_COMMENTS: dict[int, tuple[str, ...]] = {
    5: ("处理很及时，谢谢！", "效率很高，点赞。", ""), 4: ("问题已解决，谢谢。", ""),
    3: ("解决了，但时间有点长。", ""), 2: ("处理得不彻底。",), 1: ("问题根本没有解决。",),
}
RATING_WEIGHTS = {5: 55, 4: 25, 3: 10, 2: 5, 1: 5}
RATED_SHARE = 0.75
"""Of the closed cases a citizen reported, how many they rate (about half of all closed cases)."""
ARRIVALS_BY_HOUR = (1, 1, 1, 1, 1, 2, 4, 8, 10, 10, 9, 8, 7, 8, 9, 9, 8, 8, 7, 6, 5, 4, 3, 2)
"""How reports arrive over the day (local time): few at night, most in the morning and afternoon."""
DAYS = 30


@dataclass(frozen=True)
class CasePlan:
    number: int
    fate: Fate
    channel: Channel
    category_code: str
    opened_at: datetime
    place: str
    ask: str
    phrase_index: int
    rating: int | None
    """The citizen's score once it is closed (None: not rated)."""
    where: Where = Where.anywhere
    repeats: int | None = None
    """For a duplicate: the number of the case it reports again, minutes later and metres away."""


def fate_counts(count: int) -> dict[Fate, int]:
    """How many of ``count`` cases meet each fate: every fate at least once when there are enough
    cases for one of each, ``closed`` the rest."""
    if count < 0:
        raise ValueError("count must not be negative")
    minimum = 1 if count >= 2 * (len(FATE_SHARES) + SUMMONSES) else 0
    counts = {fate: max(minimum, round(share * count)) for fate, share in FATE_SHARES.items()}
    counts[Fate.summoned] = SUMMONSES if minimum else 0
    counts[Fate.closed] = count - sum(counts.values())
    if counts[Fate.closed] < 0:  # too few cases for the shares: all closed
        return {Fate.closed: count}
    return counts


def _weighted(rng: random.Random, weights: dict[T, int]) -> T:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _channel(rng: random.Random, fate: Fate, trusted: frozenset[str], *, people_only: bool = False) -> Channel:
    allowed = {c: w for c, w in CHANNEL_WEIGHTS.items()
               if not (fate in AT_THE_CENTRE and c.value in trusted)
               and not (fate is Fate.closed_at_centre and c is not Channel.hotline_12345)
               and not (people_only and c in MACHINE_CATEGORIES)}
    return _weighted(rng, allowed)


def _category(rng: random.Random, fate: Fate, channel: Channel, *, for_handler_at: Where | None = None) -> str:
    if for_handler_at is not None:
        return rng.choice(HANDLER_CATEGORIES[for_handler_at])
    if fate is Fate.overdue_in_progress:
        return rng.choice(QUICK_CATEGORIES)
    if channel in MACHINE_CATEGORIES:
        return rng.choice(MACHINE_CATEGORIES[channel])
    return _weighted(rng, CATEGORY_WEIGHTS)


def _opened_at(rng: random.Random, fate: Fate, now: datetime, utc_offset: timedelta) -> datetime:
    if fate in RECENT:
        return now - timedelta(minutes=rng.uniform(15, 100))
    if fate in OVERDUE:
        return now - timedelta(days=rng.uniform(2, 6))
    # closed ones: any day of the month but the last, at an hour people report
    day = (now + utc_offset).replace(hour=0, minute=0, second=0, microsecond=0) - utc_offset
    day -= timedelta(days=rng.randint(1, DAYS - 1))
    hour = rng.choices(range(24), weights=ARRIVALS_BY_HOUR)[0]
    return day + timedelta(hours=hour, minutes=rng.uniform(0, 60))


def _where(rng: random.Random, fate: Fate) -> Where:
    share = rng.random()
    if fate is Fate.summoned or share < FIRST_STREET_SHARE:  # the street summons: its logins see it
        return Where.first_street
    return Where.first_district if share < FIRST_STREET_SHARE + FIRST_DISTRICT_SHARE else Where.anywhere


def plan_cases(count: int, *, seed: int, now: datetime, trusted_channels: Sequence[str],
               utc_offset: timedelta = timedelta(hours=8)) -> list[CasePlan]:
    """``count`` cases opened over the ``DAYS`` days before ``now``, oldest first. Duplicates are
    planned by the driver, next to the case they repeat, and take their time from it."""
    rng = random.Random(seed)
    trusted = frozenset(trusted_channels)
    fates = [fate for fate, n in fate_counts(count).items() for _ in range(n)]
    rng.shuffle(fates)
    handler_work = {fate: [where for where in HANDLER_CATEGORIES for _ in range(n)] for fate, n in HANDLER_WORK.items()}
    plans = []
    for number, fate in enumerate(fates, start=1):
        for_handler_at = handler_work[fate].pop(0) if handler_work.get(fate) else None
        channel = _channel(rng, fate, trusted, people_only=for_handler_at is not None)
        rating = None
        if channel in CITIZEN_CHANNELS and fate not in STOPS_AT and fate not in (Fate.rejected, Fate.duplicate) \
                and rng.random() < RATED_SHARE:
            rating = _weighted(rng, RATING_WEIGHTS)
        plans.append(CasePlan(number=number, fate=fate, channel=channel,
                              category_code=_category(rng, fate, channel, for_handler_at=for_handler_at),
                              opened_at=_opened_at(rng, fate, now, utc_offset), place=rng.choice(PLACES),
                              ask=rng.choice(ASKS), phrase_index=rng.randrange(1_000), rating=rating,
                              where=for_handler_at if for_handler_at is not None else _where(rng, fate)))
    return sorted(_repeating(plans, rng), key=lambda plan: plan.opened_at)


def _repeating(plans: list[CasePlan], rng: random.Random) -> list[CasePlan]:
    """Each duplicate reports again, through a citizen's channel, what a case still being handled
    reported minutes before: the same category at the same place."""
    primaries = [plan for plan in plans if plan.fate in (Fate.closed, Fate.closed_late, Fate.reworked)]
    chosen = rng.sample(primaries, k=min(len(primaries), sum(plan.fate is Fate.duplicate for plan in plans)))
    repeated = iter(chosen)
    found = []
    for plan in plans:
        primary = next(repeated, None) if plan.fate is Fate.duplicate else None
        if primary is not None:
            plan = replace(plan, channel=rng.choice(sorted(CITIZEN_CHANNELS)), category_code=primary.category_code,
                           place=primary.place, where=primary.where, phrase_index=primary.phrase_index,
                           repeats=primary.number,
                           opened_at=primary.opened_at + timedelta(minutes=rng.uniform(5, 40)))
        elif plan.fate is Fate.duplicate:  # more duplicates than cases to repeat: a case of its own
            plan = replace(plan, fate=Fate.closed)
        found.append(plan)
    return found


def title_of(*, phrase: str, place: str, street_name: str) -> str:
    """``南京东路街道 菜场旁：暴露垃圾没人清理``."""
    return f"{street_name}{place}：{phrase}"


def description_of(*, phrase: str, place: str, community_name: str, ask: str) -> str:
    """``南京东路街道和平居委附近菜场旁暴露垃圾没人清理，希望尽快处理。`` (a community's name starts with
    its street's)."""
    return f"{community_name}附近{place}{phrase}，{ask}"


def rating_comment(score: int, rng: random.Random) -> str:
    return rng.choice(RATING_COMMENTS[score])
