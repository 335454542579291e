"""Replays and the NAB score, as plain functions over small files written here."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cityops.cli import app
from cityops.errors import InvalidFile, InvalidInput
from cityops.sensing import replay
from cityops.sensing.replay import Calibration, Track, WindowScore

T0 = datetime(2015, 9, 1, 0, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 30, 12, 34, 56, tzinfo=UTC)
MAX_AGE = timedelta(days=399)


def spiky_series() -> list[tuple[datetime, float]]:
    """Five-minute readings around 10, with a 3-reading excursion to 30 at 20:00 and one to -10 at 30:00."""
    values = [10 + (n % 7) * 0.3 for n in range(600)]
    values[240:243] = [30, 31, 30]
    values[360:363] = [-10, -11, -10]
    return [(T0 + timedelta(minutes=5 * n), value) for n, value in enumerate(values)]


def write_nab(root: Path, series: list[tuple[datetime, float]], windows: list[tuple[str, str]]) -> Path:
    folder = root / "nab" / "data" / "realTraffic"
    folder.mkdir(parents=True)
    lines = ["timestamp,value"] + [f"{at:%Y-%m-%d %H:%M:%S},{value}" for at, value in series]
    (folder / "speed_1.csv").write_text("\n".join(lines) + "\n")
    (root / "nab" / "labels").mkdir()
    (root / "nab" / "labels" / "combined_windows.json").write_text(json.dumps(
        {"realTraffic/speed_1.csv": [list(window) for window in windows], "realTraffic/absent.csv": []}))
    return root


WINDOWS = [("2015-09-01 19:00:00.000000", "2015-09-01 21:00:00.000000"),
           ("2015-09-02 04:00:00.000000", "2015-09-02 05:00:00.000000")]


def test_nab_series_are_read_with_their_windows_and_what_they_measure(tmp_path: Path) -> None:
    write_nab(tmp_path, spiky_series(), WINDOWS)
    [track] = replay.read_nab(tmp_path / "nab")
    assert (track.device, track.metric, track.source) == ("NAB-speed_1", "speed", "nab/data/realTraffic/speed_1.csv")
    assert track.points[0] == (T0, 10.0) and len(track.points) == 600
    assert track.windows[0] == (T0 + timedelta(hours=19), T0 + timedelta(hours=21))
    assert replay.nab_devices([track])[0].type_code == "nab_speed_1"
    with pytest.raises(InvalidInput) as error:
        replay.read_nab(tmp_path / "nab", names=["nyc_taxi.csv"])
    assert error.value.field == "series" and "realTraffic/speed_1.csv" in error.value.detail
    with pytest.raises(InvalidFile):
        replay.read_nab(tmp_path)


def test_score_counts_windows_with_a_warning_and_warnings_outside_every_window() -> None:
    windows = [(T0, T0 + timedelta(hours=1)), (T0 + timedelta(hours=5), T0 + timedelta(hours=6))]
    fired = [T0 + timedelta(hours=1), T0 + timedelta(minutes=10), T0 + timedelta(hours=3), T0 + timedelta(hours=9)]
    assert replay.score_windows(fired, windows) == WindowScore(2, 1, 4, 2)
    assert replay.score_windows([], windows) == WindowScore(2, 0, 0, 0)
    assert WindowScore(2, 1, 4, 2) + WindowScore(1, 1, 1, 0) == WindowScore(3, 2, 5, 2)


def test_the_calibrated_rules_warn_past_the_normal_range_and_are_scored(tmp_path: Path) -> None:
    write_nab(tmp_path, spiky_series(), WINDOWS)
    [track] = replay.read_nab(tmp_path / "nab")
    high, low = replay.calibrated_rules(track)
    normal_high, normal_low = 10 + 6 * 0.3, 10.0  # the first 15 % (90 readings) cover the whole cycle
    width = normal_high - normal_low
    assert [(t.level, round(t.fire_at, 6), round(t.clear_at, 6)) for t in high.levels] == [
        ("yellow", round(normal_high + 0.1 * width, 6), round(normal_high, 6)),
        ("orange", round(normal_high + 0.3 * width, 6), round(normal_high, 6)),
        ("red", round(normal_high + 0.6 * width, 6), round(normal_high, 6))]
    assert low.comparison == "below" and low.levels[0].fire_at == pytest.approx(normal_low - 0.1 * width)
    assert high.for_duration == timedelta(minutes=5) and high.scope.device_type == "nab_speed_1"
    [score] = replay.score_nab([track])
    assert score.fired == (T0 + timedelta(hours=20, minutes=5), T0 + timedelta(hours=30, minutes=5))
    assert score.score == WindowScore(windows=2, windows_with_warning=1, warnings=2, warnings_outside=1)
    patient = replay.score_nab([track], Calibration(hold=3))[0]  # four readings past a level: neither fires
    assert patient.score == WindowScore(2, 0, 0, 0)


def test_a_calibration_is_checked_and_names_its_rules() -> None:
    for bad in ({"probation": 0}, {"probation": 1.2}, {"steps": (0.3, 0.1, 0.6)}, {"steps": (0.1, 0.3)},
                {"hold": -1}):
        with pytest.raises(InvalidInput):
            Calibration(**bad)
    assert Calibration().tag != Calibration(hold=2).tag and len(Calibration().tag) == 6
    short = Track("NAB-x", "value", ((T0, 1.0), (T0 + timedelta(minutes=5), 2.0)))
    with pytest.raises(InvalidInput):
        replay.calibrated_rules(short)


def test_a_replay_ends_now_keeps_the_time_of_day_and_never_stamps_ahead_of_the_clock() -> None:
    tracks = [Track("A", "speed", tuple(spiky_series())),
              Track("B", "speed", tuple((at + timedelta(days=3), value) for at, value in spiky_series()[:100]))]
    at_once = replay.replay_clock(tracks, now=NOW, speed=0, max_age=MAX_AGE)
    for track in tracks:
        last = track.points[-1][0] + at_once.shifts[track.device]
        assert timedelta(0) <= NOW - last < timedelta(days=1)
        assert at_once.shifts[track.device] % timedelta(days=1) == timedelta(0)
    items = list(replay.timeline(tracks, clock=at_once))
    assert len(items) == 700 and all(item.due == timedelta(0) for item in items)
    assert [item.reading["ts"] for item in items] == sorted(item.reading["ts"] for item in items)
    sixty = replay.replay_clock(tracks, now=NOW, speed=60, max_age=MAX_AGE)
    timed = list(replay.timeline(tracks, clock=sixty))
    assert all(datetime.fromisoformat(item.reading["ts"]) <= NOW + item.due for item in timed)
    assert timed[-1].due <= (tracks[0].points[-1][0] - tracks[0].points[0][0]) / 60
    assert [item.due for item in timed] == sorted(item.due for item in timed)


def test_a_replay_too_slow_or_too_old_is_refused() -> None:
    tracks = [Track("A", "speed", tuple(spiky_series()))]
    with pytest.raises(InvalidInput) as error:
        replay.replay_clock(tracks, now=NOW, speed=0.5, max_age=MAX_AGE)
    assert error.value.field == "speed"
    with pytest.raises(InvalidInput) as error:
        replay.replay_clock(tracks, now=NOW, speed=0, max_age=timedelta(hours=12))
    assert error.value.field == "since"
    with pytest.raises(InvalidInput):
        replay.replay_clock([Track("A", "speed", ())], now=NOW, speed=0, max_age=MAX_AGE)


def test_beijing_stations_are_read_in_their_window_and_missing_hours_are_silences(tmp_path: Path) -> None:
    header = '"No","year","month","day","hour","PM2.5","PM10","SO2","NO2","CO","O3","TEMP","station"'
    rows = ['1,2017,1,1,0,300,350,20,90,5000,4,-3,"Dongsi"', '2,2017,1,1,1,NA,360,21,91,5100,5,-3,"Dongsi"',
            '3,2017,1,1,2,320,NA,22,92,5200,6,-4,"Dongsi"', '4,2017,1,2,0,50,60,5,30,800,40,-1,"Dongsi"']
    (tmp_path / "PRSA_Data_Dongsi_20130301-20170228.csv").write_text("\n".join([header, *rows]) + "\n")
    tracks = {t.metric: t for t in replay.read_beijing(tmp_path, since=datetime(2017, 1, 1),
                                                       until=datetime(2017, 1, 2))}
    assert set(tracks) == {"pm25", "pm10", "so2", "no2", "co", "o3"}
    assert [(at.hour, value) for at, value in tracks["pm25"].points] == [(16, 300.0), (18, 320.0)]  # UTC
    assert len(tracks["pm10"].points) == 2 and tracks["co"].device == "BJ-Dongsi"
    assert replay.beijing_devices(list(tracks.values()))[0].metrics["pm25"] == "µg/m³"
    with pytest.raises(InvalidInput) as error:
        replay.read_beijing(tmp_path, stations=["Haidian"])
    assert error.value.field == "stations"
    with pytest.raises(InvalidFile):
        replay.read_beijing(tmp_path / "nowhere")


def test_the_evaluate_command_prints_the_figures_as_its_last_line(tmp_path: Path) -> None:
    write_nab(tmp_path, spiky_series(), WINDOWS)
    result = CliRunner().invoke(app, ["simulate", "evaluate", "nab", "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert (figures["windows"], figures["windows_with_warning"], figures["warnings"],
            figures["warnings_outside_windows"]) == (2, 1, 2, 1)
    assert figures["rule"] == {"probation": 0.15, "steps": [0.1, 0.3, 0.6], "hold_readings": 1}
    refused = CliRunner().invoke(app, ["simulate", "evaluate", "nab", "--root", str(tmp_path), "--steps", "1,x"])
    assert refused.exit_code != 0
