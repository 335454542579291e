"""A server settles at startup: the locator and the work calendar are built and the category model
loaded before the first request, and what is alive then is exempt from garbage collection; a store
not migrated yet or a damaged model does not stop it from starting."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cityops.classify import model as classifier
from cityops.config import Settings
from cityops.db import make_engine, migrate, unit_of_work
from cityops.main import create_app
from tests.factories import make_city


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # give the test process its collector back


def settled_app(folder: Path, engine: Engine):  # noqa: ANN201
    return create_app(Settings(environment="test", data_dir=folder, secret_key="s" * 40, sweep_interval_s=0,
                               settle_at_startup=True), engine)


def test_the_locator_is_built_before_the_first_request(tmp_path: Path, unfrozen: None) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'cityops.db'}")
    migrate(engine)
    with unit_of_work(engine) as session:
        make_city(session)
    app = settled_app(tmp_path, engine)
    assert app.state.locators._locator is None
    with TestClient(app):
        assert app.state.locators._locator is not None
        assert gc.get_freeze_count() > 0


def test_a_store_not_migrated_yet_still_starts(tmp_path: Path, unfrozen: None,
                                               caplog: pytest.LogCaptureFixture) -> None:
    app = settled_app(tmp_path, make_engine(f"sqlite:///{tmp_path / 'empty.db'}"))
    with TestClient(app) as client:
        assert client.get("/healthz").status_code in (200, 503)
    assert "could not build the locator" in caplog.text


def test_the_category_model_is_loaded_before_the_first_request(tmp_path: Path, unfrozen: None,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    model = tmp_path / "categories.model"
    lamps, covers = ["路灯不亮", "路灯坏了", "路灯一闪一闪", "路灯白天也亮", "这条路的灯全黑了"], [
        "井盖丢失", "井盖破损", "井盖松动响", "井盖下沉", "窨井盖不见了"]
    classifier.save(classifier.train(lamps + covers, ["路灯"] * 5 + ["井盖"] * 5), model)
    engine = make_engine(f"sqlite:///{tmp_path / 'cityops.db'}")
    migrate(engine)
    settings = Settings(environment="test", data_dir=tmp_path, secret_key="s" * 40, sweep_interval_s=0,
                        settle_at_startup=True, classifier_model=model)
    app = create_app(settings, engine)
    with TestClient(app):
        assert app.state.classifier.suggest("路灯不亮")[0].label == "路灯"

    # a damaged model does not stop the server: the requests that need it are told why (503)
    model.write_bytes(model.read_bytes()[:100])
    app = create_app(settings, engine)
    with TestClient(app) as client:
        assert getattr(app.state, "classifier", None) is None
        assert client.get("/healthz").status_code == 200
        assert client.get("/api/v1/public/category-suggestions", params={"text": "路灯"}).status_code == 503
    assert "could not load the category model at startup" in caplog.text
