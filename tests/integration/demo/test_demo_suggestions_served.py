"""The served app suggests categories with the demo's model out of the box: the model `cityops demo`
writes into the data directory is used when CITYOPS_CLASSIFIER_MODEL is unset, a model set there
wins, no model means no suggestions, and a damaged model is a 503 that names the file (while reports
are still taken in, without a suggested category)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cityops.categories import service as categories_service
from cityops.classify import model as classifier
from cityops.config import DEMO_CLASSIFIER_MODEL, Settings
from cityops.demo import classifier as demo_classifier
from tests.factories import make_city

URL = "/api/v1/public/category-suggestions"


@pytest.fixture(scope="module")
def demo_model(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("demo-model") / "demo.model"
    classifier.save(demo_classifier.train(), path)
    return path.read_bytes()


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, demo_model: bytes,
             monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The test settings (as in tests/conftest.py), read after the data directory got the demo's
    model file (``demo``, the default), a damaged one (``damaged``) or none (``none``)."""
    monkeypatch.delenv("CITYOPS_CLASSIFIER_MODEL", raising=False)
    held = getattr(request, "param", "demo")
    if held != "none":
        path = tmp_path / DEMO_CLASSIFIER_MODEL
        path.parent.mkdir(parents=True)
        path.write_bytes(demo_model if held == "demo" else demo_model[:len(demo_model) // 2])
    return Settings(environment="test", data_dir=tmp_path, secret_key="test-secret-" + "x" * 32,
                    demo_password="demo-pass-123", sweep_interval_s=0)


@pytest.fixture
def demo_tree(session: Session) -> None:
    categories_service.seed_city_management(session)


def codes(body: dict) -> list[str]:
    return [s["code"] for s in body["suggestions"]]


def test_the_demo_model_suggests_demo_categories_by_default(client: TestClient, settings: Settings,
                                                            demo_tree: None) -> None:
    assert settings.classifier_model == settings.data_dir / DEMO_CLASSIFIER_MODEL
    body = client.get(URL, params={"text": "小区门口的路灯坏了，晚上一片漆黑"}).json()
    assert body["available"] is True
    assert body["suggestions"][0] == {"code": "C0118", "label": "路灯", "score": body["suggestions"][0]["score"]}
    assert len(body["suggestions"]) == 3 and body["suggestions"][0]["score"] > 0.5
    assert "E0508" in codes(client.get(URL, params={"text": "楼下商铺音响太吵，噪音扰民"}).json())


def test_only_active_categories_of_this_platform_are_offered(client: TestClient, session: Session,
                                                              demo_tree: None) -> None:
    categories_service.update_category(session, code="E0501", active=False)
    suggested = codes(client.get(URL, params={"text": "地铁口有小贩摆摊占道经营"}).json())
    assert suggested and "E0501" not in suggested
    assert "E0504" in suggested


def test_a_model_set_in_the_environment_wins_over_the_demos(tmp_path_factory: pytest.TempPathFactory,
                                                           monkeypatch: pytest.MonkeyPatch, demo_model: bytes,
                                                           session: Session, engine) -> None:  # noqa: ANN001
    from cityops.deps import get_session
    from cityops.main import create_app

    data_dir = tmp_path_factory.mktemp("data")
    (data_dir / DEMO_CLASSIFIER_MODEL).parent.mkdir(parents=True)
    (data_dir / DEMO_CLASSIFIER_MODEL).write_bytes(demo_model)
    other = data_dir / "city.model"
    places = ("东门", "西门", "南门", "北门", "广场", "菜场")
    texts = [f"{p}{w}" for p in places for w in ("垃圾没人清理", "垃圾堆积发臭")]
    texts += [f"{p}{w}" for p in places for w in ("井盖丢失", "窨井盖破损")]
    classifier.save(classifier.train(texts, ["E0102"] * 12 + ["C0102"] * 12), other)
    monkeypatch.setenv("CITYOPS_CLASSIFIER_MODEL", str(other))
    settings = Settings(environment="test", data_dir=data_dir, secret_key="test-secret-" + "x" * 32,
                        sweep_interval_s=0)
    assert settings.classifier_model == other
    categories_service.seed_city_management(session)
    app = create_app(settings, engine)

    def same_session():  # noqa: ANN202
        savepoint = session.begin_nested()
        yield session
        savepoint.commit()

    app.dependency_overrides[get_session] = same_session
    with TestClient(app) as client:
        body = client.get(URL, params={"text": "路灯不亮"}).json()
    # the city's model knows two categories; the demo's would have put 路灯 first
    assert body["available"] is True and sorted(codes(body)) == ["C0102", "E0102"]


@pytest.mark.parametrize("settings", ["none"], indirect=True)
def test_without_a_model_file_there_are_no_suggestions(client: TestClient, settings: Settings,
                                                       demo_tree: None) -> None:
    assert settings.classifier_model is None
    assert client.get(URL, params={"text": "路灯不亮"}).json() == {"available": False, "suggestions": []}


@pytest.mark.parametrize("settings", ["damaged"], indirect=True)
def test_a_damaged_model_is_a_503_naming_the_file_until_it_is_replaced(client: TestClient, settings: Settings,
                                                                       demo_tree: None, demo_model: bytes,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    response = client.get(URL, params={"text": "路灯不亮"})
    assert response.status_code == 503
    problem = response.json()
    assert problem["code"] == "classifier_unavailable"
    assert str(settings.classifier_model) in problem["detail"] and "cityops demo" in problem["detail"]
    assert "category suggestions are unavailable" in caplog.text
    # still refused, not an empty list, on the next request
    assert client.get(URL, params={"text": "垃圾"}).status_code == 503
    settings.classifier_model.write_bytes(demo_model)  # `cityops demo` run again: no restart needed
    assert codes(client.get(URL, params={"text": "路灯不亮"}).json())[0] == "C0118"


def test_a_missing_file_set_in_the_environment_is_a_503_too(client: TestClient, settings: Settings,
                                                             tmp_path: Path) -> None:
    settings.classifier_model = tmp_path / "nowhere.model"
    response = client.get(URL, params={"text": "路灯不亮"})
    assert response.status_code == 503 and "nowhere.model" in response.json()["detail"]


@pytest.mark.parametrize("settings", ["damaged"], indirect=True)
def test_a_damaged_model_never_costs_a_citizen_their_report(client: TestClient, settings: Settings, demo_tree: None,
                                                             demo_model: bytes, session: Session) -> None:
    make_city(session)
    report = {"title": "小区门口的路灯坏了", "lon": 121.02, "lat": 31.05}
    taken = client.post("/api/v1/public/cases", json=report)
    assert taken.status_code == 201, taken.text
    assert client.get(URL, params={"text": "路灯不亮"}).status_code == 503
    settings.classifier_model.write_bytes(demo_model)
    assert client.post("/api/v1/public/cases", json={**report, "title": "路灯又坏了"}).status_code == 201
    assert codes(client.get(URL, params={"text": "路灯不亮"}).json())[0] == "C0118"
