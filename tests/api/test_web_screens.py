"""The built screens are served beside the API: each page at its own path, with its router's paths
falling back to it, and the API's own paths left alone."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cityops import web


@pytest.fixture
def build(tmp_path: Path) -> Path:
    for page in ("index.html", "console/index.html", "citizen/index.html"):
        (tmp_path / page).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / page).write_text(f"<html>{page}</html>", encoding="utf-8")
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "citizen-abc123.js").write_text("console.log(1)", encoding="utf-8")
    (tmp_path / "favicon.svg").write_text("<svg/>", encoding="utf-8")
    return tmp_path


@pytest.fixture
def screens(build: Path) -> TestClient:
    app = FastAPI()

    @app.get("/api/v1/ping")
    def ping() -> dict:
        return {"pong": True}

    assert web.install(app, build)
    return TestClient(app)


@pytest.mark.parametrize(("path", "page"), [
    ("/", "index.html"), ("/areas/310101", "index.html"),
    ("/console/", "console/index.html"), ("/console/cases/12", "console/index.html"),
    ("/citizen", "citizen/index.html"), ("/citizen/track/AB12CD34", "citizen/index.html"),
])
def test_each_page_and_its_own_paths(screens: TestClient, path: str, page: str) -> None:
    response = screens.get(path)
    assert response.status_code == 200 and response.text == f"<html>{page}</html>"
    assert response.headers["cache-control"] == "no-cache"


def test_bundles_and_root_files_are_served(screens: TestClient) -> None:
    assert screens.get("/assets/citizen-abc123.js").text == "console.log(1)"
    assert screens.get("/favicon.svg").text == "<svg/>"


def test_the_api_keeps_its_paths(screens: TestClient) -> None:
    assert screens.get("/api/v1/ping").json() == {"pong": True}
    for path in ("/api/v1/nothing-here", "/open311/v2/nothing", "/healthz", "/assets/missing.js"):
        assert screens.get(path).status_code == 404, path


def test_without_a_build_the_api_runs_alone_and_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    app = FastAPI()
    with caplog.at_level(logging.WARNING, logger="cityops"):
        assert not web.install(app, tmp_path / "dist")
    assert "not built" in caplog.text and "make web" in caplog.text
    assert TestClient(app).get("/").status_code == 404
