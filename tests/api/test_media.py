"""Photo and video uploads: judged by content, stored once by hash, cited by reports."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient
from moto import mock_aws
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityops.media import sniff
from cityops.media.blobs import S3Blobs
from cityops.models import Attachment, CaseEvent
from tests.api.conftest import IN_STREET

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.mark.parametrize(("head", "kind"), [
    (JPEG[:16], "image/jpeg"), (PNG[:16], "image/png"), (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
    (b"\x00\x00\x00\x18ftypmp42\x00\x00", "video/mp4"), (b"\x00\x00\x00\x14ftypqt  \x00\x00", "video/quicktime"),
    (b"\x00\x00\x00\x18ftypheic\x00\x00", "image/heic"), (b"GIF89a", None), (b"%PDF-1.7", None), (b"", None),
])
def test_types_are_judged_by_their_first_bytes(head: bytes, kind: str | None) -> None:
    assert sniff.media_type(head) == kind


def test_upload_once_fetch_by_hash(client: TestClient, loop: dict[str, Any], session: Session, settings) -> None:  # noqa: ANN001
    first = client.post("/api/v1/attachments", headers=loop["op"], files={"file": ("a.jpg", JPEG, "text/plain")})
    assert first.status_code == 201
    assert first.json() == {"sha256": hashlib.sha256(JPEG).hexdigest(), "media_type": "image/jpeg", "size": len(JPEG)}
    again = client.post("/api/v1/attachments", headers=loop["op"], files={"file": ("b.jpg", JPEG, "image/jpeg")})
    assert again.json()["sha256"] == first.json()["sha256"]
    assert session.scalar(select(func.count()).select_from(Attachment)) == 1
    fetched = client.get(f"/api/v1/attachments/{first.json()['sha256']}", headers=loop["op"])
    assert fetched.content == JPEG and fetched.headers["content-type"] == "image/jpeg"
    assert client.get("/api/v1/attachments/" + "0" * 64, headers=loop["op"]).status_code == 404


def test_what_is_not_a_photo_or_too_big_is_refused(client: TestClient, loop: dict[str, Any], session: Session,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    text = client.post("/api/v1/attachments", headers=loop["op"], files={"file": ("x.jpg", b"hello", "image/jpeg")})
    assert text.status_code == 422 and text.json()["code"] == "not_a_photo_or_video"
    monkeypatch.setitem(sniff.LIMITS, "image/png", 32)
    big = client.post("/api/v1/attachments", headers=loop["op"], files={"file": ("x.png", PNG, "image/png")})
    assert big.status_code == 422 and big.json()["code"] == "file_too_large" and "at most" in big.json()["detail"]
    assert session.scalar(select(func.count()).select_from(Attachment)) == 0
    assert client.post("/api/v1/attachments", files={"file": ("x.jpg", JPEG, "image/jpeg")}).status_code == 401


def test_a_report_citing_a_file_never_uploaded_changes_nothing(client: TestClient, loop: dict[str, Any],
                                                               session: Session) -> None:
    refused = client.post("/api/v1/cases", headers=loop["op"], json={
        "channel": "hotline_12345", "title": "x", "attachments": ["f" * 64], **IN_STREET})
    assert refused.status_code == 422 and refused.json()["field"] == "attachments"
    assert session.scalar(select(func.count()).select_from(CaseEvent)) == 0


def test_a_citizen_reports_with_a_photo_without_an_account(client: TestClient, loop: dict[str, Any],
                                                           session: Session) -> None:
    photo = client.post("/api/v1/public/attachments", files={"file": ("p.jpg", JPEG, "image/jpeg")})
    assert photo.status_code == 201 and photo.json()["media_type"] == "image/jpeg"
    reported = client.post("/api/v1/public/cases", json={"title": "井盖缺失", "attachments": [photo.json()["sha256"]],
                                                         **IN_STREET})
    assert reported.status_code == 201
    opening = session.scalar(select(CaseEvent).where(CaseEvent.version == 1).order_by(CaseEvent.id.desc()))
    assert opening.attachments == [photo.json()["sha256"]]


def test_a_citizen_cannot_upload_what_is_not_a_photo_nor_cite_an_unknown_one(client: TestClient,
                                                                              session: Session) -> None:
    refused = client.post("/api/v1/public/attachments", files={"file": ("x.pdf", b"%PDF-1.7 ...", "image/jpeg")})
    assert refused.status_code == 422
    unknown = client.post("/api/v1/public/cases", json={"title": "x", "attachments": ["a" * 64], **IN_STREET})
    assert unknown.status_code in (404, 422)
    assert session.scalar(select(func.count()).select_from(Attachment)) == 0
    assert session.scalar(select(func.count()).select_from(CaseEvent)) == 0


def test_anonymous_uploads_and_reports_are_rate_limited_per_address(client: TestClient, loop: dict[str, Any],
                                                                    session: Session) -> None:
    uploads = [client.post("/api/v1/public/attachments", files={"file": ("p.png", PNG + bytes([i]), "image/png")})
               for i in range(11)]
    assert [u.status_code for u in uploads] == [201] * 10 + [429]
    assert int(uploads[-1].headers["Retry-After"]) >= 1
    assert uploads[-1].json()["code"] == "too_many_requests"
    assert session.scalar(select(func.count()).select_from(Attachment)) == 10
    reports = [client.post("/api/v1/public/cases", json={"title": f"路灯不亮 {i}", **IN_STREET}) for i in range(6)]
    assert [r.status_code for r in reports] == [201] * 5 + [429]
    assert session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.version == 1)) == 5


@pytest.fixture
def bucket(app, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:  # noqa: ANN001
    """The application keeping attachments in an S3 bucket (moto's in-process S3)."""
    for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="city-photos")
        app.state.blobs = S3Blobs(bucket="city-photos", prefix="att/", client=s3)
        yield s3


def test_attachments_can_live_in_an_s3_bucket(client: TestClient, loop: dict[str, Any], bucket: Any,
                                              settings) -> None:  # noqa: ANN001
    sha256 = hashlib.sha256(JPEG).hexdigest()
    uploaded = client.post("/api/v1/attachments", headers=loop["op"], files={"file": ("a.jpg", JPEG, "image/jpeg")})
    assert uploaded.status_code == 201 and uploaded.json()["sha256"] == sha256
    stored = bucket.get_object(Bucket="city-photos", Key=f"att/{sha256[:2]}/{sha256}")
    assert stored["Body"].read() == JPEG and stored["ContentType"] == "image/jpeg"
    assert not any(p.is_file() for p in (settings.data_dir / "attachments").rglob("*"))  # no local copy left
    fetched = client.get(f"/api/v1/attachments/{sha256}", headers=loop["op"])
    assert fetched.status_code == 200 and fetched.content == JPEG and fetched.headers["content-type"] == "image/jpeg"


def test_a_missing_bucket_refuses_the_upload_and_records_nothing(client: TestClient, loop: dict[str, Any],
                                                                 bucket: Any, session: Session) -> None:
    bucket.delete_bucket(Bucket="city-photos")
    refused = client.post("/api/v1/attachments", headers=loop["op"], files={"file": ("a.jpg", JPEG, "image/jpeg")})
    assert refused.status_code == 503 and refused.json()["code"] == "attachment_store_unavailable"
    assert session.scalar(select(func.count()).select_from(Attachment)) == 0
