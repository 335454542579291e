"""The limits of anonymous requests come from the settings, and behind a trusted reverse proxy each
citizen has a bucket of their own (the address X-Forwarded-For gives), as `cityops serve` runs uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityops.config import RateLimit, Settings
from cityops.models import Attachment, Case
from tests.api.conftest import IN_STREET

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PROXY, OTHER_PEER = "10.0.0.5", "10.0.0.9"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The shared test settings with small limits: 2 reports, 1 photo, 1 rating, 1 Open311 request."""
    return Settings(environment="test", data_dir=tmp_path, secret_key="test-secret-" + "x" * 32,
                    demo_password="demo-pass-123", sweep_interval_s=0, duplicate_auto_merge_score=1.01,
                    limit_citizen_reports=RateLimit(per_minute=1, burst=2),
                    limit_citizen_uploads=RateLimit(per_minute=1, burst=1),
                    limit_citizen_ratings=RateLimit(per_minute=1, burst=1),
                    limit_open311_requests=RateLimit(per_minute=1, burst=1))


def _report(client: TestClient, title: str, **headers: str):  # noqa: ANN202
    return client.post("/api/v1/public/cases", json={"title": title, **IN_STREET}, headers=headers)


def _cases(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Case))


def test_the_third_report_is_refused_by_a_burst_of_two_and_stores_nothing(client: TestClient, loop: dict[str, Any],
                                                                          session: Session) -> None:
    first, second = _report(client, "路灯不亮 1"), _report(client, "路灯不亮 2")
    assert (first.status_code, second.status_code) == (201, 201)
    refused = _report(client, "路灯不亮 3", **{"Idempotency-Key": "third"})
    assert refused.status_code == 429 and refused.json()["code"] == "too_many_requests"
    # one token a minute: the next is about a minute away
    assert 55 <= int(refused.headers["Retry-After"]) <= 60
    assert _cases(session) == 2


def test_each_kind_keeps_its_configured_limit(client: TestClient, loop: dict[str, Any], session: Session) -> None:
    photos = [client.post("/api/v1/public/attachments", files={"file": ("p.png", PNG + bytes([i]), "image/png")})
              for i in range(2)]
    assert [p.status_code for p in photos] == [201, 429]
    assert session.scalar(select(func.count()).select_from(Attachment)) == 1
    code = _report(client, "井盖缺失").json()["tracking_code"]  # photos' bucket is not the reports'
    early = client.post(f"/api/v1/public/cases/{code}/rating", json={"score": 4})
    assert early.status_code not in (201, 429)  # an open case cannot be rated, but the try took the token
    assert client.post(f"/api/v1/public/cases/{code}/rating", json={"score": 4}).status_code == 429
    opened = _cases(session)
    requests = [client.post("/open311/v2/requests.json", data={"service_code": "E0102", "lat": "31.05",
                                                               "long": "121.02", "description": f"垃圾 {i}"})
                for i in range(2)]
    assert [r.status_code for r in requests] == [201, 429]
    assert requests[1].headers["Retry-After"] and _cases(session) == opened + 1


def _behind(app: Any, trusted: str, peer: str) -> TestClient:
    """A client whose requests reach the app from ``peer`` through uvicorn's proxy-header handling, set up
    as `cityops serve --forwarded-allow-ips TRUSTED` has uvicorn set it up."""
    config = uvicorn.Config(app, proxy_headers=True, forwarded_allow_ips=trusted, log_config=None)
    config.load()
    return TestClient(config.loaded_app, raise_server_exceptions=False, client=(peer, 40000))


def test_behind_a_trusted_proxy_each_forwarded_address_has_its_own_bucket(app: Any, client: TestClient,
                                                                          loop: dict[str, Any],
                                                                          session: Session) -> None:
    proxy = _behind(app, PROXY, PROXY)
    one, other = {"X-Forwarded-For": "203.0.113.7"}, {"X-Forwarded-For": "198.51.100.1, 203.0.113.8"}
    assert [_report(proxy, f"占道 {i}", **one).status_code for i in range(3)] == [201, 201, 429]
    assert _report(proxy, "占道 其他", **other).status_code == 201  # the nearest untrusted hop: 203.0.113.8
    assert _report(proxy, "占道 代理本身").status_code == 201  # no header: the proxy's own address
    assert _cases(session) == 4


def test_an_untrusted_peer_cannot_choose_its_bucket_by_a_forwarded_header(app: Any, client: TestClient,
                                                                          loop: dict[str, Any],
                                                                          session: Session) -> None:
    spoofer = _behind(app, PROXY, OTHER_PEER)
    codes = [_report(spoofer, f"占道 {i}", **{"X-Forwarded-For": f"203.0.113.{i}"}).status_code for i in range(3)]
    assert codes == [201, 201, 429]  # one bucket: the peer's own address
    assert _cases(session) == 2
