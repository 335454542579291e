"""Warning rules (预警规则): which readings raise a warning, at which level, and when it clears. Pure: no
database, no clock of its own. The service keeps one small ``RuleState`` per (rule, origin) — an origin is
a device, or an area for an indicator — and feeds it each batch with ``evaluate``; ``advance`` tells it
the time when nothing arrives (for "no data" rules and lateness windows). ``dry_run`` replays stored
readings through the same code, so a dry run and the live evaluation can never disagree.

A rule watches one signal: the reading's value (``threshold``), its rate of change (``rate``), or the
silence since the last reading (``no_data``). Levels are blue < yellow < orange < red (蓝/黄/橙/红,
levels IV–I). For ``threshold`` and ``rate``:

- **Fire.** A level's condition is ``value >= fire_at`` (``above``) or ``value <= fire_at`` (``below``).
  The level fires at the first reading at which its condition has held, reading after reading, for the
  rule's ``for`` duration (from the first reading of the unbroken run; 0 fires at once).
- **Hysteresis.** An active level stays while the value has not gone past its ``clear_at`` (strictly
  below it for ``above``, strictly above it for ``below``) for ``clear_for`` (clear-on-no-recurrence).
  Going past a higher level's clear value while a lower level still holds is a step down, not a clear.
- **One warning.** The level after a reading is the highest level that fires or holds; moves between
  levels are ``level_changed`` events of the one active warning, ``fired`` starts it, ``cleared`` ends it.
- **Rate.** The rate at a reading is its change since the latest reading at least ``rate_window``
  earlier, per ``rate_per`` (e.g. per hour). Measuring over a whole window (not between neighbours)
  is what keeps jitter and out-of-order noise from looking like a steep rise; readings without such a
  base are skipped.

**Late readings.** Evaluation runs in event time (the readings' ``at``), in time order, up to a
*watermark*: the latest reading seen (or the latest ``advance`` time) minus the rule's
``allowed_lateness``. Readings after the watermark wait in the state, sorted; once the watermark passes
them they are evaluated and their events are final. A reading at or before the watermark is too late:
it is reported (``Evaluation.too_late``), not evaluated, since the events it could have changed are
already out. A reading at a time the state still holds is a duplicate and is ignored (the first one
wins, as in storage). So within the window, any arrival order gives exactly the events of ``dry_run``;
the cost is that events wait ``allowed_lateness`` (0, the default, evaluates at once and accepts no
late reading). ``provisional`` shows what the waiting readings would do if nothing else came, for a
live display that cannot wait.

**No data.** A ``no_data`` rule's levels are silences (``SilenceLevel``): a level fires at the last
reading's time plus its silence, once a later reading or ``advance`` shows the silence was that long,
and the next reading clears it. Silence is about arrival, so lateness does not apply: a reading older
than the latest one changes nothing, and one that arrives after its silence fired clears the warning
without undoing it (the data really was missing at the time). A rule starts counting at the first
reading it sees.

Two things the caller must keep in mind. A changed rule starts from a fresh ``RuleState``: the state is
laid out by the rule's levels. And the watermark only moves forward, so a reading stamped in the future
(a device clock gone wrong) would make every true reading after it too late: ingest refuses readings
from beyond a small clock skew before they reach a rule. With no lateness window, ``advance`` is only
needed by ``no_data`` rules; on others it makes readings older than its ``now`` too late.

``state_to_json``/``state_from_json`` turn a state into plain JSON values and back, for keeping states
across restarts (a state rebuilt by replaying history would fire its warnings again).
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from cityops.errors import InvalidInput
from cityops.times import as_utc


class WarningLevel(StrEnum):
    """Levels in rising severity; ``rank`` orders them (blue 1 … red 4)."""

    blue = "blue"
    yellow = "yellow"
    orange = "orange"
    red = "red"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    @property
    def chinese(self) -> str:
        return _CHINESE[self]


_RANKS = {WarningLevel.blue: 1, WarningLevel.yellow: 2, WarningLevel.orange: 3, WarningLevel.red: 4}
_CHINESE = {WarningLevel.blue: "蓝", WarningLevel.yellow: "黄", WarningLevel.orange: "橙", WarningLevel.red: "红"}
LEVEL_BY_CHINESE = {text: level for level, text in _CHINESE.items()}


class Comparison(StrEnum):
    above = "above"
    below = "below"


class RuleKind(StrEnum):
    threshold = "threshold"
    rate = "rate"
    no_data = "no_data"


class EventKind(StrEnum):
    fired = "fired"
    level_changed = "level_changed"
    cleared = "cleared"


def as_level(value: Any, *, field: str) -> WarningLevel:
    """A level by its code (``red``) or its Chinese name (``红``)."""
    if isinstance(value, str) and value in LEVEL_BY_CHINESE:
        return LEVEL_BY_CHINESE[value]
    try:
        return WarningLevel(value)
    except ValueError:
        raise InvalidInput(f"{field} must be one of blue, yellow, orange, red (蓝/黄/橙/红), not {value!r}",
                           field=field) from None


def _member(kind: type[StrEnum], value: Any, *, field: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise InvalidInput(f"{field} must be one of {', '.join(kind)}, not {value!r}", field=field) from None


def _finite(value: Any, *, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"{field} must be a finite number, not {value!r}", field=field)
    return float(value)


def _duration(value: Any, *, field: str, positive: bool = False) -> timedelta:
    if not isinstance(value, timedelta):
        raise InvalidInput(f"{field} must be a {'positive' if positive else 'non-negative'} duration",
                           field=field)
    if value < timedelta(0):
        raise InvalidInput(f"{field} must be a {'positive' if positive else 'non-negative'} duration",
                           code="must_not_be_negative", field=field)
    if positive and not value:
        raise InvalidInput(f"{field} must be a positive duration", code="must_be_positive", field=field)
    return value


@dataclass(frozen=True)
class Reading:
    """One value of the watched signal's source at one time (a device metric, an indicator)."""

    at: datetime
    value: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", as_utc(self.at, field="at"))
        object.__setattr__(self, "value", _finite(self.value, field="value"))


@dataclass(frozen=True)
class LevelThreshold:
    """Where one level fires and where it clears; ``clear_at`` None means no hysteresis (= ``fire_at``)."""

    level: WarningLevel
    fire_at: float
    clear_at: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "level", as_level(self.level, field="level"))
        object.__setattr__(self, "fire_at", _finite(self.fire_at, field="fire_at"))
        clear_at = self.fire_at if self.clear_at is None else _finite(self.clear_at, field="clear_at")
        object.__setattr__(self, "clear_at", clear_at)


@dataclass(frozen=True)
class SilenceLevel:
    """A ``no_data`` level: fires when nothing has arrived for ``after``."""

    level: WarningLevel
    after: timedelta

    def __post_init__(self) -> None:
        object.__setattr__(self, "level", as_level(self.level, field="level"))
        _duration(self.after, field="after", positive=True)


@dataclass(frozen=True)
class Scope:
    """What a rule watches: every filter given must match. ``area`` matches the area and everything in
    it; ``indicator`` watches an indicator's series instead of a device metric."""

    device_type: str | None = None
    area: str | None = None
    indicator: str | None = None

    def __post_init__(self) -> None:
        for name in ("device_type", "area", "indicator"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise InvalidInput(f"scope.{name} must be a code", field=f"scope.{name}")
        if self.device_type is None and self.area is None and self.indicator is None:
            raise InvalidInput("a scope names a device type, an area or an indicator", code="scope_required",
                               field="scope")
        if self.indicator is not None and self.device_type is not None:
            raise InvalidInput("a scope watches either an indicator or a device type", field="scope.indicator")


@dataclass(frozen=True)
class Source:
    """Where a series comes from, as plain values, for matching it against rule scopes."""

    metric: str | None
    """The device metric; None for an indicator series."""
    area_path: tuple[str, ...]
    """The area codes from the city down to the source's own area."""
    device_type: str | None = None
    indicator: str | None = None


@dataclass(frozen=True)
class Rule:
    code: str
    kind: RuleKind
    scope: Scope
    metric: str | None = None
    """The device metric watched; None when the scope is an indicator."""
    comparison: Comparison = Comparison.above
    levels: tuple[LevelThreshold, ...] = ()
    silence_levels: tuple[SilenceLevel, ...] = ()
    for_duration: timedelta = timedelta(0)
    clear_for: timedelta = timedelta(0)
    rate_window: timedelta | None = None
    rate_per: timedelta | None = None
    allowed_lateness: timedelta = timedelta(0)
    open_case_from: WarningLevel | None = None
    """From this level up the platform opens a case itself; None: an operator judges (研判) first."""
    case_category: str | None = None
    """The category of the case it opens, which routes it through the closed loop."""

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not self.code.strip():
            raise InvalidInput("code must name the rule", field="code")
        object.__setattr__(self, "kind", _member(RuleKind, self.kind, field="kind"))
        object.__setattr__(self, "comparison", _member(Comparison, self.comparison, field="comparison"))
        if not isinstance(self.scope, Scope):
            raise InvalidInput("scope must be a Scope", field="scope")
        if (self.metric is None) != (self.scope.indicator is not None):
            raise InvalidInput("a device rule names its metric; an indicator rule names none",
                               code="metric_or_indicator", field="metric")
        for name in ("for_duration", "clear_for", "allowed_lateness"):
            _duration(getattr(self, name), field=name)
        object.__setattr__(self, "levels", tuple(self.levels))
        object.__setattr__(self, "silence_levels", tuple(self.silence_levels))
        if self.kind is RuleKind.no_data:
            self._check_silence_levels()
        else:
            self._check_levels()
        if self.kind is RuleKind.rate:
            _duration(self.rate_window, field="rate_window", positive=True)
            _duration(self.rate_per, field="rate_per", positive=True)
        elif self.rate_window is not None or self.rate_per is not None:
            raise InvalidInput("only a rate rule has a rate window", field="rate_window")
        if self.open_case_from is not None:
            if self.scope.indicator is not None:
                raise InvalidInput("a rule on an indicator opens no cases: an area's value has no place to open "
                                   "one at", code="indicator_opens_no_case", field="open_case_from")
            object.__setattr__(self, "open_case_from", as_level(self.open_case_from, field="open_case_from"))
            if not isinstance(self.case_category, str) or not self.case_category.strip():
                raise InvalidInput("a rule that opens cases names their category", code="value_required",
                                   field="case_category")
        elif self.case_category is not None:
            raise InvalidInput("a case category needs open_case_from: the level that opens the case",
                               field="open_case_from")

    def _check_levels(self) -> None:
        if not self.levels or self.silence_levels:
            raise InvalidInput(f"a {self.kind} rule has value levels and no silence levels", field="levels")
        if not all(isinstance(threshold, LevelThreshold) for threshold in self.levels):
            raise InvalidInput("levels must be LevelThresholds", field="levels")
        ordered = sorted(self.levels, key=lambda threshold: threshold.level.rank)
        if len({threshold.level for threshold in ordered}) != len(ordered):
            raise InvalidInput("each level appears once", field="levels")
        sign = 1 if self.comparison is Comparison.above else -1
        for index, threshold in enumerate(ordered):
            if sign * threshold.clear_at > sign * threshold.fire_at:
                raise InvalidInput(f"{threshold.level}: the clear value must not be past the fire value "
                                   f"(clear {self.comparison} fires again)", code="clear_past_fire",
                                   field=f"levels[{index}].clear_at")
            if index and sign * threshold.fire_at <= sign * ordered[index - 1].fire_at:
                raise InvalidInput(f"{threshold.level} must fire further {self.comparison} than "
                                   f"{ordered[index - 1].level}", code="level_fire_order",
                                   field=f"levels[{index}].fire_at")
            if index and sign * threshold.clear_at < sign * ordered[index - 1].clear_at:
                raise InvalidInput(f"{threshold.level} must not clear later than {ordered[index - 1].level}",
                                   code="level_clear_order", field=f"levels[{index}].clear_at")
        object.__setattr__(self, "levels", tuple(ordered))

    def _check_silence_levels(self) -> None:
        if not self.silence_levels or self.levels:
            raise InvalidInput("a no_data rule has silence levels and no value levels", field="silence_levels")
        if not all(isinstance(silence, SilenceLevel) for silence in self.silence_levels):
            raise InvalidInput("silence_levels must be SilenceLevels", field="silence_levels")
        ordered = sorted(self.silence_levels, key=lambda silence: silence.level.rank)
        for index in range(1, len(ordered)):
            if ordered[index].level is ordered[index - 1].level or ordered[index].after <= ordered[index - 1].after:
                raise InvalidInput("each level appears once, higher levels after longer silences",
                                   code="silence_order", field=f"silence_levels[{index}]")
        object.__setattr__(self, "silence_levels", tuple(ordered))


def applies_to(rule: Rule, source: Source) -> bool:
    """Whether the rule watches this series: same metric (or indicator), type and area within scope."""
    scope = rule.scope
    if scope.indicator is not None:
        if source.indicator != scope.indicator:
            return False
    elif source.metric != rule.metric or source.indicator is not None:
        return False
    if scope.device_type is not None and source.device_type != scope.device_type:
        return False
    return scope.area is None or scope.area in source.area_path


@dataclass(frozen=True)
class RuleEvent:
    """A change of the (rule, origin)'s warning. ``reading`` is what caused it: None only when the
    silence of a ``no_data`` rule did. ``value`` is the watched signal (the value, or the rate)."""

    kind: EventKind
    rule: str
    at: datetime
    level: WarningLevel | None
    """The level after the event; None once cleared."""
    previous_level: WarningLevel | None
    value: float | None
    reading: Reading | None


@dataclass(frozen=True)
class RuleState:
    """What one (rule, origin) needs to go on: small, and bounded by the lateness and rate windows."""

    level: WarningLevel | None = None
    fire_since: tuple[datetime | None, ...] = ()
    """Per level (in the rule's order): when its current unbroken run of firing readings began."""
    clear_since: tuple[datetime | None, ...] = ()
    """Per level: when the current run of readings past its clear value began."""
    last_at: datetime | None = None
    """The latest evaluated reading (for no_data: the latest reading seen)."""
    latest_seen_at: datetime | None = None
    clock_at: datetime | None = None
    """The latest time ``advance`` was given."""
    history: tuple[Reading, ...] = ()
    """Evaluated readings a rate still needs as its base."""
    pending: tuple[Reading, ...] = ()
    """Readings after the watermark, in time order, waiting for it."""

    def watermark(self, rule: Rule) -> datetime | None:
        """Readings at or before this are evaluated (or too late)."""
        times = [moment for moment in (self.latest_seen_at, self.clock_at) if moment is not None]
        return max(times) - rule.allowed_lateness if times else None


@dataclass(frozen=True)
class Evaluation:
    state: RuleState
    events: tuple[RuleEvent, ...]
    """Final events, in time order."""
    too_late: tuple[Reading, ...] = ()
    duplicates: tuple[Reading, ...] = ()


@dataclass
class _Run:
    """The mutable working copy of a state while one batch is evaluated."""

    rule: Rule
    level: WarningLevel | None
    fire_since: list[datetime | None]
    clear_since: list[datetime | None]
    last_at: datetime | None
    history: list[Reading]
    events: list[RuleEvent] = field(default_factory=list)

    @classmethod
    def of(cls, rule: Rule, state: RuleState) -> _Run:
        count = len(rule.levels)
        fire_since = list(state.fire_since) if len(state.fire_since) == count else [None] * count
        clear_since = list(state.clear_since) if len(state.clear_since) == count else [None] * count
        return cls(rule, state.level, fire_since, clear_since, state.last_at, list(state.history))

    def signal(self, reading: Reading) -> float | None:
        rule = self.rule
        if rule.kind is RuleKind.threshold:
            return reading.value
        position = bisect_right(self.history, reading.at - rule.rate_window, key=_time)
        if not position:
            return None
        base = self.history[position - 1]
        return (reading.value - base.value) / ((reading.at - base.at) / rule.rate_per)

    def step(self, reading: Reading) -> None:
        rule = self.rule
        value = self.signal(reading)
        self.last_at = reading.at
        if rule.kind is RuleKind.rate:
            self.history.append(reading)
            cutoff = reading.at - rule.rate_window
            while len(self.history) > 1 and self.history[1].at <= cutoff:
                del self.history[0]
        if value is None:
            return
        above = rule.comparison is Comparison.above
        firing = held = None
        for index, threshold in enumerate(rule.levels):
            meets = value >= threshold.fire_at if above else value <= threshold.fire_at
            past_clear = value < threshold.clear_at if above else value > threshold.clear_at
            self.fire_since[index] = (self.fire_since[index] or reading.at) if meets else None
            self.clear_since[index] = (self.clear_since[index] or reading.at) if past_clear else None
            if meets and reading.at - self.fire_since[index] >= rule.for_duration:
                firing = threshold.level
            cleared = past_clear and reading.at - self.clear_since[index] >= rule.clear_for
            if self.level is not None and threshold.level.rank <= self.level.rank and not cleared:
                held = threshold.level
        candidates = [level for level in (firing, held) if level is not None]
        self.move_to(max(candidates, key=lambda level: level.rank) if candidates else None, reading.at, value,
                     reading)

    def move_to(self, level: WarningLevel | None, at: datetime, value: float | None, reading: Reading | None) -> None:
        if level is self.level:
            return
        kind = (EventKind.fired if self.level is None else EventKind.cleared if level is None
                else EventKind.level_changed)
        self.events.append(RuleEvent(kind, self.rule.code, at, level, self.level, value, reading))
        self.level = level

    def silence_until(self, until: datetime, reading: Reading | None) -> None:
        """No-data: the levels the silence from ``last_at`` to ``until`` reached, each at its own time."""
        if self.last_at is None:
            return
        for silence in self.rule.silence_levels:
            if until - self.last_at >= silence.after and (self.level is None or self.level.rank < silence.level.rank):
                self.move_to(silence.level, self.last_at + silence.after, None, None)
        if reading is not None:
            self.move_to(None, reading.at, reading.value, reading)

    def state(self, *, latest_seen_at: datetime | None, clock_at: datetime | None,
              pending: Sequence[Reading]) -> RuleState:
        return RuleState(self.level, tuple(self.fire_since), tuple(self.clear_since), self.last_at, latest_seen_at,
                         clock_at, tuple(self.history), tuple(pending))


def _readings(readings: Iterable[Reading]) -> list[Reading]:
    batch = list(readings)
    for index, reading in enumerate(batch):
        if not isinstance(reading, Reading):
            raise InvalidInput(f"readings[{index}] must be a Reading", field=f"readings[{index}]")
    return batch


def evaluate(rule: Rule, state: RuleState, readings: Iterable[Reading]) -> Evaluation:
    """Feed a batch (any order) to one (rule, origin): the new state and the events that are now final."""
    batch = _readings(readings)
    if rule.kind is RuleKind.no_data:
        return _evaluate_silence(rule, state, batch, clock_at=None)
    return _settle(rule, state, batch, clock_at=state.clock_at)


def advance(rule: Rule, state: RuleState, *, now: datetime) -> Evaluation:
    """Tell the state the time when no reading came: fires ``no_data`` levels whose silence has passed,
    and evaluates readings the lateness window no longer holds back. ``now`` never moves backwards."""
    now = as_utc(now, field="now")
    clock_at = max(now, state.clock_at) if state.clock_at else now
    if rule.kind is RuleKind.no_data:
        return _evaluate_silence(rule, state, [], clock_at=clock_at)
    return _settle(rule, state, [], clock_at=clock_at)


def _time(reading: Reading) -> datetime:
    return reading.at


def _holds(readings: Sequence[Reading], moment: datetime) -> bool:
    """Whether time-ordered ``readings`` hold one at ``moment``."""
    position = bisect_left(readings, moment, key=_time)
    return position < len(readings) and readings[position].at == moment


def _settle(rule: Rule, state: RuleState, batch: list[Reading], *, clock_at: datetime | None) -> Evaluation:
    watermark = state.watermark(rule)
    pending = list(state.pending)
    too_late: list[Reading] = []
    duplicates: list[Reading] = []
    latest_seen_at = state.latest_seen_at
    for reading in batch:
        if watermark is not None and reading.at <= watermark:
            seen = reading.at == state.last_at or _holds(state.history, reading.at)
            (duplicates if seen else too_late).append(reading)
        elif _holds(pending, reading.at):
            duplicates.append(reading)
        else:
            insort(pending, reading, key=_time)
            if latest_seen_at is None or reading.at > latest_seen_at:
                latest_seen_at = reading.at
    moments = [moment for moment in (latest_seen_at, clock_at) if moment is not None]
    watermark = max(moments) - rule.allowed_lateness if moments else None
    settled = 0 if watermark is None else bisect_right(pending, watermark, key=_time)
    run = _Run.of(rule, state)
    for reading in pending[:settled]:
        run.step(reading)
    return Evaluation(run.state(latest_seen_at=latest_seen_at, clock_at=clock_at, pending=pending[settled:]),
                      tuple(run.events), tuple(too_late), tuple(duplicates))


def provisional(rule: Rule, state: RuleState) -> tuple[RuleEvent, ...]:
    """What the readings still waiting for the watermark would do if nothing else arrived: not final
    (a late reading may change it), for a live display that cannot wait for the lateness window."""
    if rule.kind is RuleKind.no_data:
        return ()
    run = _Run.of(rule, state)
    for reading in state.pending:
        run.step(reading)
    return tuple(run.events)


def _evaluate_silence(rule: Rule, state: RuleState, batch: list[Reading], *, clock_at: datetime | None) -> Evaluation:
    run = _Run.of(rule, state)
    stale: list[Reading] = []
    duplicates: list[Reading] = []
    for reading in sorted(batch, key=lambda item: item.at):
        if run.last_at is not None and reading.at <= run.last_at:
            (duplicates if reading.at == run.last_at else stale).append(reading)
            continue
        run.silence_until(reading.at, reading)
        run.last_at = reading.at
    if clock_at is not None:
        run.silence_until(clock_at, None)
    latest = run.last_at
    clock = clock_at if clock_at is not None else state.clock_at
    return Evaluation(run.state(latest_seen_at=latest, clock_at=clock, pending=()), tuple(run.events),
                      too_late=tuple(stale), duplicates=tuple(duplicates))


@dataclass(frozen=True)
class Episode:
    """One warning's life in a dry run: when it fired, its highest level, and when it cleared."""

    fired_at: datetime
    cleared_at: datetime | None
    """None when it was still active at the end of the replay."""
    first_level: WarningLevel
    peak_level: WarningLevel


@dataclass(frozen=True)
class DryRun:
    events: tuple[RuleEvent, ...]
    episodes: tuple[Episode, ...]
    duplicates: tuple[Reading, ...]


def dry_run(rule: Rule, readings: Iterable[Reading], *, until: datetime | None = None) -> DryRun:
    """Replay stored readings (any order) through the rule as if they had arrived in time order, then
    run the clock to ``until`` (default: the last reading) so trailing silences and waiting readings
    count: when it would have fired, changed level and cleared."""
    batch = sorted(_readings(readings), key=lambda reading: reading.at)
    evaluation = evaluate(rule, RuleState(), batch)
    events = list(evaluation.events)
    end = as_utc(until, field="until") if until is not None else (batch[-1].at if batch else None)
    if end is not None:
        if batch and end < batch[-1].at:
            raise InvalidInput("until must not be before the last reading replayed", field="until")
        clock = end if rule.kind is RuleKind.no_data else end + rule.allowed_lateness
        events.extend(advance(rule, evaluation.state, now=clock).events)
    return DryRun(tuple(events), episodes(events), evaluation.duplicates)


def episodes(events: Iterable[RuleEvent]) -> tuple[Episode, ...]:
    """Fold one (rule, origin)'s events, in order, into warnings from firing to clearing."""
    found: list[Episode] = []
    current: Episode | None = None
    for event in events:
        if event.kind is EventKind.fired:
            current = Episode(event.at, None, event.level, event.level)
        elif current is not None and event.kind is EventKind.level_changed:
            peak = max(current.peak_level, event.level, key=lambda level: level.rank)
            current = Episode(current.fired_at, None, current.first_level, peak)
        elif current is not None:
            found.append(Episode(current.fired_at, event.at, current.first_level, current.peak_level))
            current = None
    if current is not None:
        found.append(current)
    return tuple(found)


def _time_text(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def state_to_json(state: RuleState) -> dict[str, Any]:
    """The state as JSON values (times as ISO 8601 text in UTC)."""
    return {
        "level": None if state.level is None else state.level.value,
        "fire_since": [_time_text(moment) for moment in state.fire_since],
        "clear_since": [_time_text(moment) for moment in state.clear_since],
        "last_at": _time_text(state.last_at),
        "latest_seen_at": _time_text(state.latest_seen_at),
        "clock_at": _time_text(state.clock_at),
        "history": [[reading.at.isoformat(), reading.value] for reading in state.history],
        "pending": [[reading.at.isoformat(), reading.value] for reading in state.pending],
    }


def state_from_json(data: Any) -> RuleState:
    """A state from ``state_to_json``'s values; anything else is bad input (field ``state``)."""
    def moment(value: Any) -> datetime | None:
        return None if value is None else as_utc(value, field="state")

    def readings(pairs: Any) -> tuple[Reading, ...]:
        if not isinstance(pairs, list) or not all(isinstance(pair, list) and len(pair) == 2 for pair in pairs):
            raise InvalidInput("state readings are [time, value] pairs", field="state")
        return tuple(Reading(as_utc(at, field="state"), _finite(value, field="state")) for at, value in pairs)

    def moments(value: Any) -> tuple[datetime | None, ...]:
        if not isinstance(value, list):
            raise InvalidInput("state run starts are a list", field="state")
        return tuple(map(moment, value))

    expected = {"level", "fire_since", "clear_since", "last_at", "latest_seen_at", "clock_at", "history", "pending"}
    if not isinstance(data, dict) or set(data) != expected:
        raise InvalidInput(f"a rule state is an object with {', '.join(sorted(expected))}", field="state")
    return RuleState(
        None if data["level"] is None else as_level(data["level"], field="state"),
        moments(data["fire_since"]), moments(data["clear_since"]), moment(data["last_at"]),
        moment(data["latest_seen_at"]), moment(data["clock_at"]), readings(data["history"]),
        readings(data["pending"]))
