"""The plan of the demo city's month of cases, without a database."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from cityops.cases.channels import DEFAULT_TRUSTED_CHANNELS, Channel
from cityops.demo import case_plan
from cityops.demo.case_plan import Fate, Where
from cityops.demo.catalogue import DUTIES, HANDLER_DEPARTMENT_KIND, STREET_DUTIES, Duty
from cityops.demo.classifier import read_phrases
from cityops.geo.levels import AreaLevel

NOW = datetime(2025, 6, 18, 9, 30, tzinfo=UTC)
TRUSTED = sorted(DEFAULT_TRUSTED_CHANNELS)


@pytest.mark.parametrize("count", [0, 1, 33, 34, 80, 600, 5000])
def test_fate_counts_add_up_and_cover_every_fate_when_there_are_enough(count: int) -> None:
    counts = case_plan.fate_counts(count)
    assert sum(counts.values()) == count and all(n >= 0 for n in counts.values())
    if count >= 34:
        assert set(counts) == set(Fate) and all(counts.values())
        assert counts[Fate.closed] == max(counts.values())


def test_a_negative_count_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        case_plan.fate_counts(-1)


def test_the_same_seed_plans_the_same_month() -> None:
    first = case_plan.plan_cases(600, seed=7, now=NOW, trusted_channels=TRUSTED)
    assert first == case_plan.plan_cases(600, seed=7, now=NOW, trusted_channels=TRUSTED)
    assert first != case_plan.plan_cases(600, seed=8, now=NOW, trusted_channels=TRUSTED)


def test_the_mix_of_a_month() -> None:
    plans = case_plan.plan_cases(600, seed=1, now=NOW, trusted_channels=TRUSTED)
    assert [p.opened_at for p in plans] == sorted(p.opened_at for p in plans)
    assert all(NOW - timedelta(days=case_plan.DAYS) <= p.opened_at < NOW for p in plans)
    channels = Counter(p.channel for p in plans)
    assert set(channels) == set(Channel) and channels.most_common(1)[0][0] is Channel.hotline_12345
    assert channels[Channel.grid_patrol] > channels[Channel.citizen_photo] > channels[Channel.iot_warning]
    closed = [p for p in plans if p.fate not in case_plan.STOPS_AT and p.fate not in (Fate.rejected, Fate.duplicate)]
    rated = [p.rating for p in closed if p.rating is not None]
    assert 0.35 < len(rated) / len(closed) < 0.65
    assert sum(r >= 4 for r in rated) > 0.7 * len(rated) and set(rated) == {1, 2, 3, 4, 5}


def test_each_plan_fits_its_pipeline() -> None:
    plans = case_plan.plan_cases(600, seed=3, now=NOW, trusted_channels=TRUSTED)
    known = {c.code for c in read_phrases()}
    for plan in plans:
        assert plan.category_code in known
        if plan.fate in case_plan.AT_THE_CENTRE:  # trusted reports skip the operator
            assert plan.channel.value not in TRUSTED
        if plan.rating is not None:
            assert plan.channel in case_plan.CITIZEN_CHANNELS
        if plan.fate in case_plan.RECENT:
            assert NOW - plan.opened_at < timedelta(hours=2)
    assert all(code in DUTIES or code in ("E0506", "E0603") for code in case_plan.CATEGORY_WEIGHTS)


def test_duplicates_repeat_an_earlier_case_at_its_place() -> None:
    plans = case_plan.plan_cases(600, seed=5, now=NOW, trusted_channels=TRUSTED)
    by_number = {p.number: p for p in plans}
    duplicates = [p for p in plans if p.fate is Fate.duplicate]
    assert duplicates
    for duplicate in duplicates:
        primary = by_number[duplicate.repeats]
        assert (primary.category_code, primary.place, primary.phrase_index) == (
            duplicate.category_code, duplicate.place, duplicate.phrase_index)
        assert timedelta(minutes=5) <= duplicate.opened_at - primary.opened_at <= timedelta(minutes=40)


def test_texts_name_the_street_and_the_place() -> None:
    title = case_plan.title_of(phrase="暴露垃圾没人清理", place="菜场旁", street_name="南京东路街道")
    assert title == "南京东路街道菜场旁：暴露垃圾没人清理"
    description = case_plan.description_of(phrase="暴露垃圾没人清理", place="菜场旁",
                                           community_name="南京东路街道和平居委", ask="希望尽快处理。")
    assert description == "南京东路街道和平居委附近菜场旁暴露垃圾没人清理，希望尽快处理。"


def test_each_handler_login_has_work_where_it_works() -> None:
    """Most cases go to bureaus other than the handler logins': without a quota, the street's handler (its
    street office's) had nothing to acknowledge in a month of 600 cases, the district's none in 80."""
    plans = case_plan.plan_cases(600, seed=9, now=NOW, trusted_channels=TRUSTED)
    known = {c.code for c in read_phrases()}
    street, district = case_plan.HANDLER_CATEGORIES[Where.first_street], case_plan.HANDLER_CATEGORIES[
        Where.first_district]
    assert not set(street) & set(DUTIES)  # no bureau has them: the street's office does
    assert all(DUTIES[code] == Duty(lead=HANDLER_DEPARTMENT_KIND[AreaLevel.district]) and code not in STREET_DUTIES
               for code in district)  # the district's bureau alone, on every street of the district
    assert all(DUTIES[code] == Duty(lead=HANDLER_DEPARTMENT_KIND[AreaLevel.city], level=AreaLevel.city)
               for code in case_plan.HANDLER_CATEGORIES[Where.anywhere])
    for where, categories in case_plan.HANDLER_CATEGORIES.items():
        assert set(categories) <= known
        for fate, quota in case_plan.HANDLER_WORK.items():
            work = [p for p in plans if p.fate is fate and p.where is where and p.category_code in categories
                    and p.channel not in case_plan.MACHINE_CATEGORIES]
            assert len(work) >= quota, (where, fate)
    where = Counter(p.where for p in plans if p.fate not in case_plan.HANDLER_WORK)
    assert 0.05 < where[Where.first_street] / where.total() < 0.2
    assert 0.12 < where[Where.first_district] / where.total() < 0.3
    assert {p.where for p in plans if p.fate is Fate.summoned} == {Where.first_street}


def test_a_small_month_leaves_the_handlers_what_cases_it_has_of_those_fates() -> None:
    plans = case_plan.plan_cases(10, seed=9, now=NOW, trusted_channels=TRUSTED)
    counts = case_plan.fate_counts(10)
    handled_by_logins = {code for codes in case_plan.HANDLER_CATEGORIES.values() for code in codes}
    assert len(plans) == 10
    for fate in case_plan.HANDLER_WORK:
        work = [p for p in plans if p.fate is fate and p.category_code in handled_by_logins]
        assert len(work) == min(counts[fate], sum(case_plan.HANDLER_WORK[fate] for _ in case_plan.HANDLER_CATEGORIES))
