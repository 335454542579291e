"""`cityops serve` tells uvicorn which reverse proxies may say the client's address, which anonymous
callers are rate-limited by; and a wrong setting or proxy list stops it before anything starts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from cityops.cli import app
from cityops.config import get_settings
from cityops.db import get_engine


@pytest.fixture
def started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """What `serve` hands uvicorn, on a fresh store, instead of serving."""
    monkeypatch.setenv("CITYOPS_DATA_DIR", str(tmp_path))
    for name in ("FORWARDED_ALLOW_IPS", "CITYOPS_FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    yield calls
    for name in [name for name in os.environ if name.startswith("CITYOPS_LIMIT_") or "FORWARDED_ALLOW_IPS" in name]:
        monkeypatch.delenv(name)  # a wrong one a test set would stop get_engine too
    get_engine().dispose()
    get_settings.cache_clear()


def _serve(*args: str) -> Any:
    get_settings.cache_clear()
    return CliRunner().invoke(app, ["serve", *args])


def test_without_a_choice_uvicorn_keeps_its_own_default(started: list[dict[str, Any]]) -> None:
    assert _serve().exit_code == 0
    assert started[0]["forwarded_allow_ips"] is None and started[0]["proxy_headers"] is True


def test_the_option_then_the_setting_then_uvicorns_variable(started: list[dict[str, Any]],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.9.9.9")
    assert _serve().exit_code == 0
    monkeypatch.setenv("CITYOPS_FORWARDED_ALLOW_IPS", "10.0.0.0/8")
    assert _serve().exit_code == 0
    assert _serve("--forwarded-allow-ips", "10.0.0.5, 10.0.0.6").exit_code == 0
    assert [call["forwarded_allow_ips"] for call in started] == ["10.9.9.9", "10.0.0.0/8", "10.0.0.5,10.0.0.6"]


@pytest.mark.parametrize(("args", "env", "words"), [
    (["--forwarded-allow-ips", "nginx"], {}, "--forwarded-allow-ips: 'nginx' is not an IP address"),
    (["--forwarded-allow-ips", "10.0.0.1/8"], {}, "did you mean 10.0.0.0/8"),
    ([], {"FORWARDED_ALLOW_IPS": "10.0.0.5,*"}, "FORWARDED_ALLOW_IPS: * (trust any peer) stands alone"),
    ([], {"CITYOPS_FORWARDED_ALLOW_IPS": "proxy"}, "CITYOPS_FORWARDED_ALLOW_IPS: Value error, 'proxy' is not"),
    ([], {"CITYOPS_LIMIT_CITIZEN_REPORTS": '{"per_minute": 5, "burst": 0}'},
     "CITYOPS_LIMIT_CITIZEN_REPORTS (burst): Input should be greater than or equal to 1"),
    ([], {"CITYOPS_LIMIT_OPEN311_REQUESTS": "5/min"}, "CITYOPS_LIMIT_OPEN311_REQUESTS (not valid JSON?)"),
])
def test_a_wrong_proxy_list_or_limit_stops_serve_before_anything_starts(
        started: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        args: list[str], env: dict[str, str], words: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    refused = _serve(*args)
    assert refused.exit_code == 2
    assert words in " ".join(refused.output.replace("│", " ").split())
    assert started == [] and not (tmp_path / "cityops.db").exists()
