"""Warning rules on indicators: a rule whose scope names an indicator watches that indicator's series in
each of its areas (origin: the area code), through the same pure ``rules`` and ``warnings`` as device
metrics. The indicator job hands over each bucket once it is over (``feed``) and tells the rules that
wait on time what time it is (``advance``); states are kept per rule, indicator and area, and the
warning of an origin is one row of ``warnings`` with the indicator and no device, announced as any
warning is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityops.geo import service as geo_service
from cityops.geo.service import AreaKey
from cityops.sensing import alerting, rules, warnings
from cityops.sensing.models import IndicatorRow, IndicatorRuleState, IndicatorValue, WarningRow


def _watching(session: Session, row: IndicatorRow) -> list[alerting.ActiveRule]:
    return [item for item in alerting._active_rules(session) if item.rule.scope.indicator == row.code]  # noqa: SLF001


def _codes(path: str) -> tuple[str, ...]:
    return tuple(code for code in path.strip("/").split("/") if code)


def feed(session: Session, *, row: IndicatorRow, areas: Sequence[AreaKey], since: datetime, until: datetime,
         now: datetime) -> int:
    """Give the rules watching the indicator its stored values of the buckets in [since, until); returns
    how many warning moves they made."""
    watching = _watching(session, row)
    if not watching:
        return 0
    by_id = {area.id: area for area in areas}
    readings: dict[int, list[rules.Reading]] = {}
    for area_id, bucket, value in session.execute(select(
            IndicatorValue.area_id, IndicatorValue.bucket, IndicatorValue.value).where(
            IndicatorValue.indicator_id == row.id, IndicatorValue.bucket >= since, IndicatorValue.bucket < until)):
        if area_id in by_id:
            readings.setdefault(area_id, []).append(rules.Reading(bucket, value))
    return _evaluate(session, row, watching, {by_id[area_id]: found for area_id, found in readings.items()}, now=now)


def advance(session: Session, *, rows: Sequence[IndicatorRow], now: datetime) -> int:
    """Run the clock of the indicator rules that wait on time (no data, lateness windows)."""
    moves = 0
    for row in rows:
        waiting = [item for item in _watching(session, row)
                   if item.rule.kind is rules.RuleKind.no_data or item.rule.allowed_lateness]
        if not waiting:
            continue
        area_ids = set(session.scalars(select(IndicatorRuleState.area_id).where(
            IndicatorRuleState.indicator_id == row.id,
            IndicatorRuleState.rule_id.in_([item.id for item in waiting]))))
        areas = {area: [] for area in geo_service.area_keys(session, within_path=row.area_path, level=row.level)
                 if area.id in area_ids}
        moves += _evaluate(session, row, waiting, areas, now=now, by_clock=True)
    return moves


def _evaluate(session: Session, row: IndicatorRow, watching: Sequence[alerting.ActiveRule],
              readings: dict[AreaKey, list[rules.Reading]], *, now: datetime, by_clock: bool = False) -> int:
    if not readings:
        return 0
    rule_ids = [item.id for item in watching]
    states = {(state.rule_id, state.area_id): state for state in session.scalars(select(IndicatorRuleState).where(
        IndicatorRuleState.indicator_id == row.id, IndicatorRuleState.rule_id.in_(rule_ids)))}
    actives = {(warning.rule_id, warning.origin): warning for warning in session.scalars(select(WarningRow).where(
        WarningRow.indicator_id == row.id, WarningRow.rule_id.in_(rule_ids), WarningRow.status.in_(alerting.ACTIVE)))}
    notifier = alerting._Notifier(session, now=now)  # noqa: SLF001
    moves = 0
    for area, found in readings.items():
        source = rules.Source(metric=None, area_path=_codes(area.path), indicator=row.code)
        for item in watching:
            if not rules.applies_to(item.rule, source):
                continue
            state_row = states.get((item.id, area.id))
            state = rules.state_from_json(state_row.state) if state_row is not None else rules.RuleState()
            evaluation = (rules.advance(item.rule, state, now=now) if by_clock
                          else rules.evaluate(item.rule, state, found))
            if evaluation.state != state:
                data = rules.state_to_json(evaluation.state)
                if state_row is None:
                    states[item.id, area.id] = state_row = IndicatorRuleState(
                        rule_id=item.id, indicator_id=row.id, area_id=area.id, state=data, updated_at=now)
                    session.add(state_row)
                else:
                    state_row.state, state_row.updated_at = data, now
            labels = warnings.Labels(rule=item.rule.code, kind=item.rule.kind, origin=area.code,
                                     area_path=source.area_path, indicator=row.code)
            for event in evaluation.events:
                warning = actives.get((item.id, area.code))
                moved = warnings.follow(alerting._warning_of(warning) if warning is not None else None,  # noqa: SLF001
                                        event, labels=labels)
                if moved is None:
                    continue
                if warning is None:
                    warning = WarningRow(rule_id=item.id, device_id=None, indicator_id=row.id, metric=row.code,
                                         origin=area.code, area_path=area.path, fired_at=moved[0].fired_at,
                                         labels={**asdict(labels), "area_path": list(labels.area_path)})
                    session.add(warning)
                actives[item.id, area.code] = alerting._record(  # noqa: SLF001
                    session, warning, *moved, rule_id=item.id, device=None, metric=row.code)
                notifier.announce(warning, moved[1], labels)
                moves += 1
    return moves
