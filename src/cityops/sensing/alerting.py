"""Warning rules at work: rules kept in the store, evaluated as readings arrive, and the warnings they
raise, with people's moves on them. The pure parts decide (``rules`` evaluates, ``warnings`` moves a
warning); this module loads, saves and announces.

**On ingest** (``evaluate_ingested``, called by ``service.ingest`` in the same unit of work): the active
rules are read once per unit of work; each stored reading that is not from maintenance goes to the rules
whose scope applies to its device (type, area) and metric; the states of the batch's origins (device and
metric) are read in one query, fed the batch with ``rules.evaluate`` and saved when they changed — history
is never rescanned. Rule events become warnings through ``warnings.follow``: one active warning per rule
and origin (a partial unique index holds it under concurrency), level changes as entries, resolved on
clear. ``warning.fired``, ``warning.level_changed`` and ``warning.resolved`` go into the outbox in the
same transaction, unless a silence mutes the warning.

A reading sent again is fed to the rules with the value and maintenance flag stored the first time, so
the rules see what storage holds; the rule state itself ignores readings it has seen.

**Cases opened by rules** (``open_due_cases``): a warning that reaches its rule's ``open_case_from``
gets a case through the closed loop (``cases.service.intake`` on the ``iot_warning`` channel, at the
device's place, in the rule's category, routed and dispatched as any case) and keeps following its
readings with the case linked (``warnings.WarningAction.open_case``); one that cleared within the same
batch still gets it. Ingest and the worker's rule clock call it in their unit of work right after
evaluating; each opening runs in a savepoint, so one that fails is logged and undone alone — the
warning and the readings stay — and is written into the warning's history (``case_not_opened``, with
the error and the next attempt's time). The warning is tried again once its back-off has passed
(``warnings.case_retry_delay``: 1 min, doubling per failure in a row, at most 1 h; counted from those
entries, so every process sees it), for a day after it cleared. Exactly one case per warning: a
warning with a case is never due again, the link is a new warning version under a unique (warning,
version), and the case's external id ``warning-{id}`` is unique on its channel. A rule names only a
category that exists and is in service (``create_rule``), so a missing category is refused there
rather than found out when the rule fires.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from cityops import live, outbox
from cityops.calendar.service import CalendarCache
from cityops.calendar.workcalendar import WorkCalendar
from cityops.cases import service as cases_service
from cityops.cases.channels import Channel
from cityops.cases.lifecycle import Action, Actor, ActorKind
from cityops.cases.models import Case
from cityops.categories import service as categories_service
from cityops.config import Settings
from cityops.errors import CityOpsError, Conflict, InvalidInput, NotFound, PermissionDenied
from cityops.geo import service as geo_service
from cityops.geo.locator import Locator
from cityops.geo.models import Area
from cityops.org.access import Principal
from cityops.sensing import authors, rules, warnings
from cityops.sensing.devices import DeviceKey, DeviceStatus
from cityops.sensing.models import (
    Device,
    DeviceType,
    IndicatorRow,
    Reading,
    RuleStateRow,
    SensingRule,
    SilenceRow,
    WarningEntryRow,
    WarningRow,
)
from cityops.sensing.store import ReadingRow
from cityops.sensing.warnings import WarningAction, WarningStatus

log = logging.getLogger("cityops.sensing.alerting")
RULES_KEY = "cityops.sensing.active_rules"
WORDS_KEY = "cityops.sensing.warning_words"
TITLE_LENGTH = 200
"""A case title's limit (``cases.models.Case.title``)."""
CASE_RETRY_WINDOW = timedelta(days=1)
"""How long a warning that cleared keeps waiting for a case that could not be opened."""
TOPICS = {WarningAction.fire: "warning.fired", WarningAction.change_level: "warning.level_changed",
          WarningAction.resolve: "warning.resolved"}
ACTIVE = tuple(status.value for status in warnings.ACTIVE)
_DURATIONS = ("for_duration", "clear_for", "rate_window", "rate_per", "allowed_lateness")
MAX_SECONDS = 10**9
"""The longest duration a rule definition may give (about 31 years)."""


# Rules as JSON -------------------------------------------------------------------------------

def rule_to_json(rule: rules.Rule) -> dict[str, Any]:
    """A rule as JSON values; durations in whole or fractional seconds (``for_duration`` → ``for_s``)."""
    data: dict[str, Any] = {
        "kind": rule.kind.value, "metric": rule.metric, "comparison": rule.comparison.value,
        "scope": {"device_type": rule.scope.device_type, "area": rule.scope.area, "indicator": rule.scope.indicator},
        "levels": [{"level": t.level.value, "fire_at": t.fire_at, "clear_at": t.clear_at} for t in rule.levels],
        "silence_levels": [{"level": s.level.value, "after_s": s.after.total_seconds()} for s in rule.silence_levels],
        "open_case_from": rule.open_case_from.value if rule.open_case_from else None,
        "case_category": rule.case_category,
    }
    for name in _DURATIONS:
        value = getattr(rule, name)
        data[_seconds_key(name)] = None if value is None else value.total_seconds()
    return data


def _seconds_key(name: str) -> str:
    return name.removesuffix("_duration") + "_s"


def _seconds(value: Any, *, field: str) -> timedelta | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or value > MAX_SECONDS:
        raise InvalidInput(f"{field} must be a number of seconds", code="bad_duration", field=field,
                           extra={"max_days": MAX_SECONDS // 86400})
    return timedelta(seconds=value)


def rule_from_json(code: str, data: Any) -> rules.Rule:
    """A rule from ``rule_to_json``'s values, checked by ``rules.Rule``; anything else is bad input."""
    if not isinstance(data, dict) or not isinstance(data.get("scope"), dict):
        raise InvalidInput("a rule definition is an object with a scope", code="bad_rule_definition",
                           field="definition")
    scope = data["scope"]
    unknown = set(scope) - {"device_type", "area", "indicator"}
    if unknown:
        raise InvalidInput(f"unknown scope fields: {', '.join(sorted(unknown))}", code="bad_rule_definition",
                           field="scope")

    def items(name: str) -> list[dict[str, Any]]:
        value = data.get(name) or []
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise InvalidInput(f"{name} is a list of objects", code="bad_rule_definition", field=name)
        return value

    try:
        levels = tuple(rules.LevelThreshold(item.get("level"), item.get("fire_at"), item.get("clear_at"))
                       for item in items("levels"))
        silences = tuple(rules.SilenceLevel(item.get("level"), _seconds(item.get("after_s"), field="after_s"))
                         for item in items("silence_levels"))
        durations = {name: _seconds(data.get(_seconds_key(name)), field=_seconds_key(name)) for name in _DURATIONS}
        for name in ("for_duration", "clear_for", "allowed_lateness"):
            durations[name] = durations[name] or timedelta(0)
        return rules.Rule(code=code, kind=data.get("kind"), scope=rules.Scope(**scope), metric=data.get("metric"),
                          comparison=data.get("comparison") or rules.Comparison.above, levels=levels,
                          silence_levels=silences, open_case_from=data.get("open_case_from"),
                          case_category=data.get("case_category"), **durations)
    except TypeError as error:
        raise InvalidInput(f"bad rule definition: {error}", code="bad_rule_definition", field="definition") from None


# Rules in the store --------------------------------------------------------------------------

@dataclass(frozen=True)
class ActiveRule:
    id: int
    rule: rules.Rule


def _active_rules(session: Session) -> list[ActiveRule]:
    """The active rules, read once per unit of work (creating or deactivating one forgets them)."""
    if RULES_KEY not in session.info:
        rows = session.execute(select(SensingRule.id, SensingRule.code, SensingRule.definition)
                               .where(SensingRule.active).order_by(SensingRule.id))
        session.info[RULES_KEY] = [ActiveRule(id, rule_from_json(code, definition)) for id, code, definition in rows]
    return session.info[RULES_KEY]


def rule_of(row: SensingRule) -> rules.Rule:
    return rule_from_json(row.code, row.definition)


def _path_codes(area_path: str) -> tuple[str, ...]:
    return tuple(code for code in area_path.strip("/").split("/") if code)


def create_rule(session: Session, *, code: str, name: str, definition: dict[str, Any],
                author: Principal) -> SensingRule:
    """A new active rule. Its area must lie in the author's jurisdiction; a rule for the whole city
    (no area) needs an author whose jurisdiction is the city. What it watches must exist
    (``_check_watched``). The category of the cases it opens must
    exist (NotFound, ``unknown_category``) and be in service (``inactive_category``)."""
    rule = rule_from_json(code, definition)
    if rule.scope.area is not None:
        area = geo_service.get_area(session, code=rule.scope.area)
        if not author.covers(area.path):
            raise NotFound(f"no area with code {rule.scope.area!r}", code="unknown_area", field="scope.area")
    elif author.area_level != "city":
        raise PermissionDenied("a rule without an area watches the whole city; give scope.area",
                               code="outside_jurisdiction", field="scope.area")
    _check_watched(session, rule)
    if rule.case_category is not None:
        _check_case_category(session, code=rule.case_category)
    if session.scalar(select(SensingRule.id).where(SensingRule.code == rule.code)) is not None:
        raise Conflict(f"a rule {rule.code!r} exists", code="duplicate_code", field="code")
    row = SensingRule(code=rule.code, name=name, kind=rule.kind.value, metric=rule.metric,
                      scope_device_type=rule.scope.device_type, scope_area=rule.scope.area,
                      scope_indicator=rule.scope.indicator, definition=rule_to_json(rule), active=True,
                      author=author.name, author_user_id=authors.user_id_of(author))
    session.add(row)
    session.flush()
    session.info.pop(RULES_KEY, None)
    return row


def _check_watched(session: Session, rule: rules.Rule) -> None:
    """A rule watches something that exists: its indicator, or a metric that its device type (or, without
    one, some device type) reports. A misspelt code would make a rule that never fires."""
    if rule.scope.indicator is not None:
        if session.scalar(select(IndicatorRow.id).where(IndicatorRow.code == rule.scope.indicator)) is None:
            raise NotFound(f"no indicator with code {rule.scope.indicator!r}", code="unknown_indicator",
                           field="scope.indicator")
        return
    if rule.scope.device_type is not None:
        metrics = session.scalar(select(DeviceType.metrics).where(DeviceType.code == rule.scope.device_type))
        if metrics is None:
            raise NotFound(f"no device type with code {rule.scope.device_type!r}", code="unknown_device_type",
                           field="scope.device_type")
        if rule.metric not in metrics:
            raise InvalidInput(f"device type {rule.scope.device_type} reports {', '.join(sorted(metrics))}, "
                               f"not {rule.metric}", code="unknown_metric", field="metric")
    elif not any(rule.metric in metrics for metrics in session.scalars(select(DeviceType.metrics))):
        raise InvalidInput(f"no device type reports {rule.metric}", code="unknown_metric", field="metric")


def _check_case_category(session: Session, *, code: str) -> None:
    try:
        category = categories_service.get_category(session, code=code)
    except NotFound as error:
        raise NotFound(error.detail, code=error.code, field="case_category") from error
    if not category.active:
        raise InvalidInput(f"category {code} is out of service (inactive): name one cases are opened in",
                           code="inactive_category", field="case_category")


def get_rule(session: Session, *, rule_id: int) -> SensingRule:
    row = session.get(SensingRule, rule_id)
    if row is None:
        raise NotFound(f"no rule {rule_id}", code="unknown_rule", field="rule_id")
    return row


def list_rules(session: Session, *, active: bool | None = None) -> list[SensingRule]:
    query = select(SensingRule).order_by(SensingRule.code)
    if active is not None:
        query = query.where(SensingRule.active.is_(active))
    return list(session.scalars(query))


def deactivate_rule(session: Session, *, row: SensingRule, at: datetime) -> SensingRule:
    """Stop evaluating the rule; its warnings and their history stay."""
    if not row.active:
        raise Conflict(f"rule {row.code!r} is inactive already", code="illegal_transition")
    row.active, row.deactivated_at = False, at
    session.flush()
    session.info.pop(RULES_KEY, None)
    return row


def dry_run(session: Session, *, row: SensingRule, device: Device, metric: str, since: datetime,
            until: datetime) -> rules.DryRun:
    """Replay the stored readings (maintenance aside) of one device metric in [since, until) through
    the rule, whether or not it is active, and run its clock to ``until``."""
    if until <= since:
        raise InvalidInput("until must be after since", code="end_before_start", field="until")
    rule = rule_of(row)
    if rule.metric != metric:
        raise InvalidInput(f"rule {row.code!r} watches {rule.metric}, not {metric}", code="metric_not_watched",
                           field="metric", extra={"rule_metric": rule.metric})
    readings = [rules.Reading(ts, value) for ts, value in session.execute(
        select(Reading.ts, Reading.value).where(Reading.device_id == device.id, Reading.metric == metric,
                                                Reading.ts >= since, Reading.ts < until, ~Reading.maintenance))]
    return rules.dry_run(rule, readings, until=until)


# Evaluation on ingest ------------------------------------------------------------------------

@dataclass
class _Origin:
    device: DeviceKey
    device_type: str
    metric: str
    watched_by: list[ActiveRule]
    readings: list[rules.Reading]


def evaluate_ingested(session: Session, *, rows: Sequence[ReadingRow], devices: Iterable[DeviceKey], stored: int,
                      now: datetime) -> int:
    """Feed a stored batch to the rules watching it (see the module's doc); returns how many warning
    moves it made."""
    active = _active_rules(session)
    if not active or not rows:
        return 0
    by_id = {device.id: device for device in devices}
    type_codes = dict(session.execute(select(DeviceType.id, DeviceType.code)
                                      .where(DeviceType.id.in_({d.type_id for d in by_id.values()}))).all())
    origins: dict[tuple[int, str], _Origin] = {}
    watched: dict[tuple[int, str, str], list[ActiveRule]] = {}
    batch = {(device_id, metric, ts): (value, maintenance) for device_id, metric, ts, value, maintenance in rows}
    for device_id, metric, _, _, _ in rows:
        if (device_id, metric) in origins:
            continue
        device = by_id[device_id]
        key = (device.type_id, device.area_path, metric)
        if key not in watched:
            source = rules.Source(metric=metric, area_path=_path_codes(device.area_path),
                                  device_type=type_codes[device.type_id])
            watched[key] = [item for item in active if rules.applies_to(item.rule, source)]
        origins[device_id, metric] = _Origin(device, type_codes[device.type_id], metric, watched[key], [])
    origins = {key: origin for key, origin in origins.items() if origin.watched_by}
    if not origins:
        return 0
    if stored < len(batch):
        batch.update(_stored_values(session, batch, origins))
    for (device_id, metric, ts), (value, maintenance) in batch.items():
        origin = origins.get((device_id, metric))
        if origin is not None and not maintenance:
            origin.readings.append(rules.Reading(ts, value))
    return _evaluate(session, [origin for origin in origins.values() if origin.readings], now=now)


def _stored_values(session: Session, batch: dict[tuple[int, str, datetime], tuple[float, bool]],
                   origins: dict[tuple[int, str], _Origin]) -> dict[tuple[int, str, datetime], tuple[float, bool]]:
    """The stored value and maintenance flag of the batch's watched readings (some were stored before)."""
    times = [ts for device_id, metric, ts in batch if (device_id, metric) in origins]
    found = session.execute(select(Reading.device_id, Reading.metric, Reading.ts, Reading.value, Reading.maintenance)
                            .where(Reading.device_id.in_({device_id for device_id, _ in origins}),
                                   Reading.metric.in_({metric for _, metric in origins}),
                                   Reading.ts >= min(times), Reading.ts <= max(times)))
    return {(d, m, ts): (value, maintenance) for d, m, ts, value, maintenance in found if (d, m, ts) in batch}


def advance_all(session: Session, *, now: datetime) -> int:
    """Tell the rules that wait on time what time it is: a ``no_data`` rule fires when a device has
    been silent for a level's silence (no reading will ever come to say so), and a rule with a
    lateness window settles the readings it held back. Devices in maintenance or retired are left
    alone. Returns how many warning moves it made."""
    waiting = {item.id: item for item in _active_rules(session)
               if item.rule.kind is rules.RuleKind.no_data or item.rule.allowed_lateness}
    if not waiting:
        return 0
    keys = session.execute(select(RuleStateRow.rule_id, RuleStateRow.device_id, RuleStateRow.metric)
                           .where(RuleStateRow.rule_id.in_(waiting))).all()
    devices = {device.id: device for device in session.scalars(select(Device).where(
        Device.id.in_({device_id for _, device_id, _ in keys}), Device.status == DeviceStatus.active.value))}
    type_codes = dict(session.execute(select(DeviceType.id, DeviceType.code).where(
        DeviceType.id.in_({device.type_id for device in devices.values()}))).all())
    origins: dict[tuple[int, str], _Origin] = {}
    for rule_id, device_id, metric in keys:
        device = devices.get(device_id)
        if device is None:
            continue
        origin = origins.setdefault((device_id, metric), _Origin(device, type_codes[device.type_id], metric, [], []))
        origin.watched_by.append(waiting[rule_id])
    return _evaluate(session, list(origins.values()), now=now, by_clock=True)


def _evaluate(session: Session, origins: list[_Origin], *, now: datetime, by_clock: bool = False) -> int:
    rule_ids = {item.id for origin in origins for item in origin.watched_by}
    device_ids = {origin.device.id for origin in origins}
    states = {(row.rule_id, row.device_id, row.metric): row for row in session.scalars(
        select(RuleStateRow).where(RuleStateRow.rule_id.in_(rule_ids), RuleStateRow.device_id.in_(device_ids)))}
    actives = {(row.rule_id, row.device_id, row.metric): row for row in session.scalars(
        select(WarningRow).where(WarningRow.status.in_(ACTIVE), WarningRow.rule_id.in_(rule_ids),
                                 WarningRow.device_id.in_(device_ids)))}
    notifier = _Notifier(session, now=now)
    moves = 0
    for origin in origins:
        for item in origin.watched_by:
            key = (item.id, origin.device.id, origin.metric)
            state_row = states.get(key)
            state = rules.state_from_json(state_row.state) if state_row is not None else rules.RuleState()
            evaluation = (rules.advance(item.rule, state, now=now) if by_clock
                          else rules.evaluate(item.rule, state, origin.readings))
            if evaluation.state != state:
                _save_state(session, state_row, key, evaluation.state, now=now)
            if not evaluation.events:
                continue
            labels = warnings.Labels(rule=item.rule.code, kind=item.rule.kind, origin=origin.device.code,
                                     area_path=_path_codes(origin.device.area_path), device_type=origin.device_type)
            for event in evaluation.events:
                row = actives.get(key)
                moved = warnings.follow(_warning_of(row) if row is not None else None, event, labels=labels)
                if moved is None:
                    continue
                if moved[1].action is WarningAction.fire:
                    row = None  # a new warning: the one this batch resolved before it stays as it is
                row = _record(session, row, *moved, rule_id=item.id, device=origin.device, metric=origin.metric)
                actives[key] = row
                notifier.announce(row, moved[1], labels)
                moves += 1
    return moves


def _save_state(session: Session, row: RuleStateRow | None, key: tuple[int, int, str], state: rules.RuleState, *,
                now: datetime) -> None:
    data = rules.state_to_json(state)
    if row is None:
        session.add(RuleStateRow(rule_id=key[0], device_id=key[1], metric=key[2], state=data, updated_at=now))
    else:
        row.state, row.updated_at = data, now


# Warnings in the store -----------------------------------------------------------------------

def _labels_of(data: dict[str, Any]) -> warnings.Labels:
    return warnings.Labels(**{**data, "area_path": tuple(data["area_path"])})


def _warning_of(row: WarningRow) -> warnings.Warning:
    labels = _labels_of(row.labels)
    return warnings.Warning(labels.rule, row.origin, labels, WarningStatus(row.status), rules.WarningLevel(row.level),
                            rules.WarningLevel(row.peak_level), row.fired_at, row.updated_at, row.value, row.case_id,
                            row.version)


def _record(session: Session, row: WarningRow | None, warning: warnings.Warning, entry: warnings.WarningEntry, *,
            rule_id: int, device: DeviceKey | None, metric: str, cause: dict[str, Any] | None = None) -> WarningRow:
    """Save the warning as ``warning`` says (a new row when ``row`` is None, filed under ``device``) with its
    entry, and the entry's ``cause`` (``WarningEntryRow.cause``) when it tells of a refusal."""
    if row is None:
        row = WarningRow(rule_id=rule_id, device_id=device.id, metric=metric, origin=warning.origin,
                         labels={**asdict(warning.labels), "area_path": list(warning.labels.area_path)},
                         area_path=device.area_path, fired_at=warning.fired_at)
        session.add(row)
    row.status, row.level, row.peak_level = warning.status.value, warning.level.value, warning.peak_level.value
    row.value, row.updated_at, row.case_id, row.version = warning.value, warning.updated_at, warning.case_id, \
        warning.version
    # a closed warning keeps the time it closed: later system entries (its case, a failed opening) do not move it
    if warning.active:
        row.closed_at = None
    elif row.closed_at is None:
        row.closed_at = warning.updated_at
    session.flush()
    actor = entry.actor
    session.add(WarningEntryRow(
        warning_id=row.id, version=entry.version, action=entry.action.value,
        from_status=entry.from_status.value if entry.from_status else None, to_status=entry.to_status.value,
        from_level=entry.from_level.value if entry.from_level else None, to_level=entry.to_level.value,
        actor_role=str(actor.role), actor_name=actor.name, actor_id=actor.id, at=entry.at, reason=entry.reason,
        value=entry.value, case_id=entry.case_id, cause=cause))
    # every move reaches live screens, silenced or not: silences mute notifications, not the record
    words = _words(session, row)
    live.publish(session, kind="warning", area_path=row.area_path, payload={
        "warning_id": row.id, "version": row.version, "action": entry.action.value, "rule": warning.labels.rule,
        "rule_name": words.rule_name, "origin": row.origin, "origin_name": words.origin_name, "metric": row.metric,
        "unit": words.unit, "status": row.status, "level": row.level,
        "peak_level": row.peak_level, "value": row.value, "area_code": row.area_path.strip("/").split("/")[-1],
        "fired_at": row.fired_at.isoformat(), "updated_at": row.updated_at.isoformat(), "case_id": row.case_id})
    return row


class _Notifier:
    """Puts the warning topics into the outbox unless a silence mutes the warning now; the silences
    are read once, when the first announcement needs them."""

    def __init__(self, session: Session, *, now: datetime) -> None:
        self.session, self.now = session, now
        self.silences: list[warnings.Silence] | None = None

    def announce(self, row: WarningRow, entry: warnings.WarningEntry, labels: warnings.Labels) -> None:
        topic = TOPICS.get(entry.action)
        if topic is None:
            return
        if self.silences is None:
            self.silences = active_silences(self.session, at=self.now)
        if warnings.suppression(labels, silences=self.silences, offline_stations=(), at=self.now).suppressed:
            return
        outbox.emit(self.session, topic=topic, area_path=row.area_path, at=self.now, payload={
            **_told(self.session, row),
            "status": row.status, "level": row.level,
            "previous_level": entry.from_level.value if entry.from_level else None,
            "value": entry.value, "at": entry.at.isoformat()})


def _told(session: Session, row: WarningRow) -> dict[str, Any]:
    """What an outbox event says of a warning: its codes, and its names and unit for people."""
    words = _words(session, row)
    return {"warning_id": row.id, "rule": row.labels["rule"], "rule_name": words.rule_name, "origin": row.origin,
            "origin_name": words.origin_name, "metric": row.metric, "unit": words.unit, "level": row.level,
            "value": row.value}


def active_silences(session: Session, *, at: datetime) -> list[warnings.Silence]:
    rows = session.scalars(select(SilenceRow).where(SilenceRow.starts_at <= at, SilenceRow.ends_at > at))
    return [warnings.Silence(tuple(warnings.Matcher(label, value) for label, value in row.matchers), row.starts_at,
                             row.ends_at, row.author, row.reason, row.id) for row in rows]


SILENCERS = frozenset({"operator", "dispatcher"})
"""Who may silence warnings: those who judge them (as acknowledging them)."""


def create_silence(session: Session, *, matchers: Sequence[tuple[str, str]], starts_at: datetime, ends_at: datetime,
                   reason: str, author: Principal) -> SilenceRow:
    """Mute the notifications of matching warnings from ``starts_at`` to ``ends_at``. A silence never
    reaches past its author's jurisdiction: without an ``area`` matcher it gets the author's area,
    and an ``area`` matcher must name an area inside it."""
    if not SILENCERS & set(author.roles):
        raise PermissionDenied("only operators and dispatchers silence warnings", code="role_not_allowed")
    matchers = list(matchers)
    areas = [value for label, value in matchers if label == "area"]
    for code in areas:
        geo_service.path_within(session, viewer=author, area_code=code)
    if not areas:
        matchers.append(("area", author.area_code))
    silence = warnings.Silence(tuple(warnings.Matcher(label, value) for label, value in matchers), starts_at,
                               ends_at, author.name, reason)
    row = SilenceRow(matchers=[[m.label, m.value] for m in silence.matchers], starts_at=silence.starts_at,
                     ends_at=silence.ends_at, author=silence.author, author_user_id=authors.user_id_of(author),
                     reason=silence.reason, area_path=author.area_path)
    session.add(row)
    session.flush()
    return row


def list_silences(session: Session, *, viewer: Principal, at: datetime, current: bool = True) -> list[SilenceRow]:
    """Silences set in the viewer's jurisdiction, newest first; ``current``: only those not over at ``at``."""
    query = select(SilenceRow).where(SilenceRow.area_path.startswith(viewer.area_path, autoescape=True))
    if current:
        query = query.where(SilenceRow.ends_at > at)
    return list(session.scalars(query.order_by(SilenceRow.id.desc()).limit(500)))


def end_silence(session: Session, *, silence_id: int, viewer: Principal, at: datetime) -> SilenceRow:
    """End a silence now (it stays in the history, ended)."""
    row = session.get(SilenceRow, silence_id)
    if row is None or not row.area_path.startswith(viewer.area_path):
        raise NotFound(f"no silence {silence_id}", code="unknown_silence", field="silence_id")
    if not SILENCERS & set(viewer.roles):
        raise PermissionDenied("only operators and dispatchers end silences", code="role_not_allowed")
    if row.ends_at <= at:
        raise Conflict("this silence is over already", code="silence_over")
    row.ends_at = max(at, row.starts_at)
    session.flush()
    return row


# Warnings for people -------------------------------------------------------------------------

def get_warning(session: Session, *, warning_id: int, viewer: Principal) -> WarningRow:
    """Warning ``warning_id``; NotFound when unknown or outside the viewer's jurisdiction."""
    row = session.get(WarningRow, warning_id)
    if row is None or not viewer.covers(row.area_path):
        raise NotFound(f"no warning {warning_id}", code="unknown_warning", field="warning_id")
    return row


def entries_of(session: Session, *, warning_ids: Sequence[int]) -> dict[int, list[WarningEntryRow]]:
    found: dict[int, list[WarningEntryRow]] = {warning_id: [] for warning_id in warning_ids}
    for entry in session.scalars(select(WarningEntryRow).where(WarningEntryRow.warning_id.in_(warning_ids))
                                 .order_by(WarningEntryRow.warning_id, WarningEntryRow.version)):
        found[entry.warning_id].append(entry)
    return found


def list_warnings(session: Session, *, viewer: Principal, status: str | None = None, level: str | None = None,
                  rule_code: str | None = None, area_code: str | None = None, since: datetime | None = None,
                  until: datetime | None = None, has_case: bool | None = None, limit: int = 100,
                  offset: int = 0) -> tuple[list[tuple[WarningRow, str | None]], int]:
    """Warnings in the viewer's jurisdiction, newest first, by status, level, rule, area, firing time and
    whether they have a case (``has_case``: opened by their rule or converted by a person, alike), each
    with its case's tracking code, read in the same query."""
    within = geo_service.path_within(session, viewer=viewer, area_code=area_code)
    query = select(WarningRow).where(WarningRow.area_path.startswith(within, autoescape=True))
    if status is not None:
        query = query.where(WarningRow.status == status)
    if level is not None:
        query = query.where(WarningRow.level == level)
    if rule_code is not None:
        query = query.join(SensingRule, SensingRule.id == WarningRow.rule_id).where(SensingRule.code == rule_code)
    if since is not None:
        query = query.where(WarningRow.fired_at >= since)
    if until is not None:
        query = query.where(WarningRow.fired_at < until)
    if has_case is not None:
        query = query.where(WarningRow.case_id.is_not(None) if has_case else WarningRow.case_id.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    listed = session.execute(query.add_columns(Case.tracking_code).outerjoin(Case, Case.id == WarningRow.case_id)
                             .order_by(WarningRow.fired_at.desc(), WarningRow.id.desc()).limit(limit).offset(offset))
    return [(row, code) for row, code in listed], total


def case_tracking_code(session: Session, *, row: WarningRow) -> str | None:
    """The tracking code of the warning's case, the one queues and case pages name it by."""
    return None if row.case_id is None else session.scalar(select(Case.tracking_code).where(Case.id == row.case_id))


@dataclass(frozen=True)
class WarningWords:
    """What a person reads a warning by, beside its codes: the rule's name, the name of the device or
    area it comes from, the unit of its value and the name of the area it is filed under (the board names
    a warning by that area, its rule and level)."""

    rule_name: str
    origin_name: str | None
    unit: str | None
    area_name: str | None


def words_of(session: Session, rows: Sequence[WarningRow]) -> dict[int, WarningWords]:
    """Each warning's words by its id, in one query per kind of thing named (not one per warning)."""
    rule_ids = {row.rule_id for row in rows}
    device_ids = {row.device_id for row in rows if row.device_id is not None}
    indicator_ids = {row.indicator_id for row in rows if row.indicator_id is not None}
    # the areas indicators' warnings come from and those every warning is filed under, read together
    area_codes = {row.origin for row in rows if row.device_id is None} | {_filed_under(row) for row in rows}

    def pairs(key: Any, value: Any, keys: set[Any]) -> dict[Any, Any]:
        return dict(session.execute(select(key, value).where(key.in_(keys))).all()) if keys else {}

    rule_names = pairs(SensingRule.id, SensingRule.name, rule_ids)
    devices = {device_id: (name, metrics) for device_id, name, metrics in session.execute(
        select(Device.id, Device.name, DeviceType.metrics).join(DeviceType, DeviceType.id == Device.type_id)
        .where(Device.id.in_(device_ids)))} if device_ids else {}
    indicator_units = pairs(IndicatorRow.id, IndicatorRow.unit, indicator_ids)
    area_names = pairs(Area.code, Area.name, area_codes)
    words = {}
    for row in rows:
        if row.device_id is not None:
            name, metrics = devices.get(row.device_id, (None, {}))
            origin_name, unit = name, (metrics or {}).get(row.metric)
        else:
            origin_name, unit = area_names.get(row.origin), indicator_units.get(row.indicator_id)
        words[row.id] = WarningWords(rule_names.get(row.rule_id, row.labels.get("rule", "")), origin_name, unit,
                                     area_names.get(_filed_under(row)))
    return words


def _filed_under(row: WarningRow) -> str:
    """The code of the area the warning is filed under, the last of its path."""
    return row.area_path.strip("/").split("/")[-1]


def _words(session: Session, row: WarningRow) -> WarningWords:
    """One warning's words, read once per unit of work: a move publishes them live, may announce them
    and may title a case with them."""
    known = session.info.setdefault(WORDS_KEY, {})
    if row.id not in known:
        known[row.id] = words_of(session, [row])[row.id]
    return known[row.id]


def active_per_area(session: Session, *, within_path: str) -> list[tuple[str, rules.WarningLevel, int]]:
    """(area path, level, count) of the active warnings under ``within_path`` (where each is filed)."""
    return [(path, rules.WarningLevel(level), count) for path, level, count in session.execute(
        select(WarningRow.area_path, WarningRow.level, func.count()).where(
            WarningRow.area_path.startswith(within_path, autoescape=True),
            WarningRow.status.in_([status.value for status in warnings.ACTIVE]))
        .group_by(WarningRow.area_path, WarningRow.level))]


def _actor(viewer: Principal, action: WarningAction) -> warnings.Actor:
    """The viewer acting in the first of its roles the action allows (or its first role, to be refused)."""
    allowed = warnings.TABLE[action].roles
    role = next((r for r in viewer.roles if r in allowed), viewer.roles[0] if viewer.roles else "")
    return warnings.Actor(role=role, name=viewer.name, id=str(viewer.id))


def act(session: Session, *, row: WarningRow, action: WarningAction, viewer: Principal, at: datetime,
        reason: str | None = None) -> WarningRow:
    """A person's move (acknowledge, close as a false alarm) on a warning the viewer may see. A warning's
    last change carries its reading's time, which may lie a little ahead of the clock (devices' skew)."""
    if action not in (WarningAction.acknowledge, WarningAction.close_false_alarm):
        raise InvalidInput(f"{action} is not a move people make here", field="action")
    moved = warnings.apply(_warning_of(row), action, actor=_actor(viewer, action), at=max(at, row.updated_at),
                           reason=reason)
    return _record(session, row, *moved, rule_id=row.rule_id, device=None, metric=row.metric)


def convert_to_case(session: Session, *, row: WarningRow, viewer: Principal, at: datetime, locator: Locator,
                    calendar: WorkCalendar, policy: cases_service.IntakePolicy,
                    category_code: str | None = None) -> WarningRow:
    """Open a case for the warning through the closed loop (channel ``iot_warning``, the rule's category
    unless the caller names one, at the device's place) and convert the warning into it."""
    if row.device_id is None:
        raise Conflict("an indicator's warning has no device to place a case at: open a case for its area "
                       "through intake", code="not_a_device_warning")
    warning = _warning_of(row)
    actor = _actor(viewer, WarningAction.convert_to_case)
    at = max(at, row.updated_at)
    # apply's checks (role, status, time) run before the case is opened, so a refused conversion opens none
    warnings.apply(warning, WarningAction.convert_to_case, actor=actor, at=at, case_id=1)
    rule = rule_of(session.get(SensingRule, row.rule_id))
    device = session.get(Device, row.device_id)
    report = _case_report(session, row, rule, device, category_code=category_code or rule.case_category)
    case = cases_service.intake(session, report=report, actor=cases_service.actor_for(viewer, Action.intake),
                                receiver=viewer, locator=locator,
                                calendar=calendar, at=at, policy=policy).case
    moved = warnings.apply(warning, WarningAction.convert_to_case, actor=actor, at=at, case_id=case.id)
    return _record(session, row, *moved, rule_id=row.rule_id, device=device, metric=row.metric)


def _case_report(session: Session, row: WarningRow, rule: rules.Rule, device: Device, *, category_code: str | None
                 ) -> cases_service.Report:
    """The case a device's warning opens, told in words: the device, the rule's name, the level and the
    reading with its unit (never the warning's id: the case's page names its warning by those)."""
    level = rules.WarningLevel(row.level)
    words = _words(session, row)
    reading = f"{row.value:g}{words.unit or ''}" if row.value is not None else "无读数"
    return cases_service.Report(
        channel=Channel.iot_warning, title=f"{device.name}：{words.rule_name}{level.chinese}色预警"[:TITLE_LENGTH],
        description=f"{words.rule_name}{level.chinese}色预警（规则 {rule.code}）：设备 {device.name}（{device.code}），"
                    f"{row.metric} 读数 {reading}",
        category_code=category_code, lon=device.lon, lat=device.lat, external_id=f"warning-{row.id}")


# Cases opened by the rules -------------------------------------------------------------------

@dataclass(frozen=True)
class CaseIntake:
    """What opening a case needs besides the unit of work, from the composition root: the process's
    locator and calendar (cached, rebuilt when areas or overrides change) and the intake policy."""

    locators: geo_service.LocatorCache
    calendars: CalendarCache
    policy: cases_service.IntakePolicy

    @classmethod
    def from_settings(cls, settings: Settings) -> CaseIntake:
        return cls(geo_service.LocatorCache(boundary_distance_m=settings.boundary_distance_m),
                   CalendarCache(settings), cases_service.IntakePolicy.from_settings(settings))


@dataclass
class CaseOpenings:
    opened: list[int] = field(default_factory=list)
    """Ids of the warnings that got their case."""
    failed: list[int] = field(default_factory=list)
    """Ids of the warnings whose case could not be opened this time (logged and in their history)."""
    waiting: list[int] = field(default_factory=list)
    """Ids of the warnings not tried this time: their last failure's back-off has not passed."""


@dataclass(frozen=True)
class _Failures:
    count: int
    """Failures in a row: a warning's failures all come before its case, so all of them."""
    last_at: datetime

    @property
    def next_attempt_at(self) -> datetime:
        return warnings.next_case_attempt(failures=self.count, last_failed_at=self.last_at)


def _case_failures(session: Session, *, warning_ids: Collection[int]) -> dict[int, _Failures]:
    if not warning_ids:
        return {}
    return {warning_id: _Failures(count, last_at) for warning_id, count, last_at in session.execute(
        select(WarningEntryRow.warning_id, func.count(), func.max(WarningEntryRow.at))
        .where(WarningEntryRow.warning_id.in_(warning_ids),
               WarningEntryRow.action == WarningAction.case_not_opened.value)
        .group_by(WarningEntryRow.warning_id))}


def open_due_cases(session: Session, *, intake: CaseIntake, now: datetime,
                   device_ids: Collection[int] | None = None) -> CaseOpenings:
    """Open the case of every warning (of ``device_ids``' devices, or all) that has reached its rule's
    ``open_case_from`` and has none yet: active ones, and those resolved in the last
    ``CASE_RETRY_WINDOW``, unless an earlier failure's back-off has not passed (see the module's doc)."""
    opening = {item.id: item.rule for item in _active_rules(session) if item.rule.open_case_from is not None}
    done = CaseOpenings()
    if not opening or device_ids is not None and not device_ids:
        return done
    recent = now - CASE_RETRY_WINDOW
    query = select(WarningRow).where(
        WarningRow.case_id.is_(None), WarningRow.rule_id.in_(opening),
        or_(WarningRow.status.in_(ACTIVE),
            and_(WarningRow.status == WarningStatus.resolved.value, WarningRow.closed_at >= recent)))
    if device_ids is not None:
        query = query.where(WarningRow.device_id.in_(device_ids))
    due = [row for row in session.scalars(query.order_by(WarningRow.id)).all()
           if warnings.should_open_case(_warning_of(row), opening[row.rule_id])]
    failures = _case_failures(session, warning_ids=[row.id for row in due])
    for row in due:
        rule, before = opening[row.rule_id], failures.get(row.id)
        if before is not None and now < before.next_attempt_at:
            done.waiting.append(row.id)
            continue
        try:
            with session.begin_nested():
                _open_case(session, row=row, rule=rule, intake=intake, now=now)
        except Exception as error:  # noqa: BLE001  (a case that cannot be opened must cost neither the warning nor the readings)
            _case_not_opened(session, row=row, rule=rule, error=error, failures=before.count + 1 if before else 1,
                             now=now)
            done.failed.append(row.id)
        else:
            done.opened.append(row.id)
    return done


def _case_not_opened(session: Session, *, row: WarningRow, rule: rules.Rule, error: Exception, failures: int,
                     now: datetime) -> None:
    """Log the failure and write it into the warning's history, with when it is tried again. The first
    failure is also told to the operators and dispatchers of the place (``warning.case_not_opened``),
    who can judge the warning and convert it themselves; retries are not told again."""
    at = max(now, row.updated_at)
    next_at = warnings.next_case_attempt(failures=failures, last_failed_at=at)
    log.error("could not open a case for warning %s of rule %s (failure %s in a row); it is tried again from %s",
              row.id, rule.code, failures, next_at.isoformat(), exc_info=error)
    cause = error.detail if isinstance(error, CityOpsError) else f"{type(error).__name__}: {error}"
    reason = f"case not opened (failure {failures} in a row): {cause[:1000]}; tried again from {next_at.isoformat()}"
    try:
        with session.begin_nested():
            moved = warnings.apply(_warning_of(row), WarningAction.case_not_opened, actor=warnings.SYSTEM, at=at,
                                   reason=reason)
            refusal = _refusal(error)
            _record(session, row, *moved, rule_id=row.rule_id, device=None, metric=row.metric, cause={
                "code": refusal["cause_code"], "values": refusal["cause_values"], "failures": failures,
                "next_attempt_at": next_at.isoformat()})
            if failures == 1:
                outbox.emit(session, topic="warning.case_not_opened", area_path=row.area_path, at=at, payload={
                    **_told(session, row), "cause": cause[:500], **refusal,
                    "next_attempt_at": next_at.isoformat()})
    except Exception:  # noqa: BLE001  (nor may its record: without it the warning is simply tried again)
        log.exception("could not record the failed case opening of warning %s", row.id)


def _refusal(error: Exception) -> dict[str, Any]:
    """Why a case was not opened as the screens say it: the refusal's problem code and the members its text
    names (the Chinese texts are the screens' problem.* catalogue; the API's detail stays in ``cause``).
    An error outside the hierarchy is the platform's own, ``internal``."""
    if not isinstance(error, CityOpsError):
        return {"cause_code": CityOpsError.code, "cause_values": {}}
    values = {key: value for key, value in error.extra.items() if isinstance(value, str | int | float)}
    return {"cause_code": error.code, "cause_values": values}


def _open_case(session: Session, *, row: WarningRow, rule: rules.Rule, intake: CaseIntake, now: datetime) -> None:
    device = session.get(Device, row.device_id)
    area = geo_service.area_key(session, area_id=device.area_id)
    # the rule opens the case on the device's ground: a place the locator cannot file falls back to it
    receiver = Principal(id=0, kind="client", name=f"预警规则 {rule.code}", roles=("system",), area_id=area.id,
                         area_code=area.code, area_path=area.path, area_level=area.level)
    actor = Actor(kind=ActorKind.system, id=None, role="system", name=receiver.name)
    report = _case_report(session, row, rule, device, category_code=rule.case_category)
    case = cases_service.intake(session, report=report, actor=actor, receiver=receiver,
                                locator=intake.locators.get(session), calendar=intake.calendars.get(session),
                                at=max(now, row.updated_at), policy=intake.policy).case
    # the link takes the time of the move that called for it (reading time), so that the moves of readings
    # still on their way, stamped before now, stay in order after it
    moved = warnings.apply(_warning_of(row), WarningAction.open_case, actor=warnings.SYSTEM, at=row.updated_at,
                           case_id=case.id)
    _record(session, row, *moved, rule_id=row.rule_id, device=device, metric=row.metric)
