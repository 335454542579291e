"""Category suggestions for a citizen's words, as they type."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cityops.categories import service as categories_service
from cityops.classify import model as classifier

PLACES = ("东门", "西门", "南门", "北门", "中心广场", "菜场旁")


def test_the_likeliest_existing_category_comes_first(client: TestClient, session: Session, settings,  # noqa: ANN001
                                                     tmp_path) -> None:  # noqa: ANN001
    categories_service.create_category(session, code="E01", name="市容环境", kind="event", origin="test")
    categories_service.create_category(session, code="E0102", name="暴露垃圾", kind="event", parent_code="E01",
                                       origin="test")
    texts = [f"{p}{w}" for p in PLACES for w in ("暴露垃圾没人清理", "垃圾堆积发臭")]
    texts += [f"{p}{w}" for p in PLACES for w in ("井盖丢失很危险", "窨井盖破损")]
    model_file = tmp_path / "categories.model"
    # the second label names no category here, so it is never offered
    classifier.save(classifier.train(texts, ["暴露垃圾"] * 12 + ["井盖"] * 12), model_file)
    settings.classifier_model = model_file
    body = client.get("/api/v1/public/category-suggestions", params={"text": "小区门口垃圾发臭"}).json()
    assert body["available"] is True
    assert [(s["code"], s["label"]) for s in body["suggestions"]] == [("E0102", "暴露垃圾")]
    assert 0.5 < body["suggestions"][0]["score"] <= 1


def test_without_a_classifier_there_are_no_suggestions(client: TestClient) -> None:
    body = client.get("/api/v1/public/category-suggestions", params={"text": "垃圾"}).json()
    assert body == {"available": False, "suggestions": []}


def test_empty_text_is_refused(client: TestClient) -> None:
    response = client.get("/api/v1/public/category-suggestions", params={"text": ""})
    assert response.status_code == 422 and response.json()["field"] == "text"
