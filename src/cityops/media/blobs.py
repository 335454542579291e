"""Where attachment bytes live, by SHA-256: the data directory (``attachments/ab/abcdef…``, the
embedded default) or an S3-compatible bucket (AWS S3, MinIO, Ceph …) when ``CITYOPS_S3_BUCKET``
is set, so several API processes on several machines share one store.

An upload is spooled and checked on local disk first (``media.service``); only a complete, accepted
file reaches the store, under its hash, so the same photo uploaded twice is kept once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from fastapi.responses import FileResponse, Response, StreamingResponse

from cityops.config import Settings
from cityops.errors import NotFound, ServiceUnavailable

CHUNK = 1024 * 1024


class BlobStore(Protocol):
    def put(self, sha256: str, spooled: Path, media_type: str) -> None:
        """Keep the spooled file under ``sha256`` (the spool is consumed)."""

    def response(self, sha256: str, media_type: str) -> Response:
        """The stored bytes as an HTTP response."""


def local_path(root: Path, sha256: str) -> Path:
    return root / "attachments" / sha256[:2] / sha256


class LocalBlobs:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, sha256: str, spooled: Path, media_type: str) -> None:
        target = local_path(self.root, sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(spooled, target)  # atomic: a reader never sees half a file

    def response(self, sha256: str, media_type: str) -> Response:
        path = local_path(self.root, sha256)
        if not path.is_file():
            raise NotFound("the attachment's file is missing from the data directory", code="attachment_missing")
        return FileResponse(path, media_type=media_type)


class S3Blobs:
    """Objects ``{prefix}{ab}/{sha256}`` in ``bucket``. Credentials come the usual boto3 way
    (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, a profile, or an instance role)."""

    def __init__(self, *, bucket: str, prefix: str = "attachments/", endpoint_url: str | None = None,
                 region: str | None = None, client: Any = None) -> None:
        if client is None:
            import boto3  # optional: pip install 'cityops[s3]'

            client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region)
        self.client, self.bucket, self.prefix = client, bucket, prefix

    def key(self, sha256: str) -> str:
        return f"{self.prefix}{sha256[:2]}/{sha256}"

    def put(self, sha256: str, spooled: Path, media_type: str) -> None:
        from boto3.exceptions import S3UploadFailedError
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.upload_file(str(spooled), self.bucket, self.key(sha256),
                                    ExtraArgs={"ContentType": media_type})
        except (BotoCoreError, ClientError, S3UploadFailedError) as error:
            raise ServiceUnavailable(f"the attachment store did not take the file: {error}",
                                     code="attachment_store_unavailable") from error
        finally:
            spooled.unlink(missing_ok=True)

    def response(self, sha256: str, media_type: str) -> Response:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            stored = self.client.get_object(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise NotFound("the attachment's object is missing from the bucket",
                               code="attachment_missing") from error
            raise ServiceUnavailable(f"the attachment store did not answer: {error}",
                                     code="attachment_store_unavailable") from error
        except BotoCoreError as error:
            raise ServiceUnavailable(f"the attachment store did not answer: {error}",
                                     code="attachment_store_unavailable") from error
        body = stored["Body"]

        def chunks() -> Iterator[bytes]:
            try:
                yield from body.iter_chunks(CHUNK)
            finally:
                body.close()

        return StreamingResponse(chunks(), media_type=media_type,
                                 headers={"Content-Length": str(stored["ContentLength"])})


def blob_store(settings: Settings) -> BlobStore:
    if settings.s3_bucket:
        return S3Blobs(bucket=settings.s3_bucket, prefix=settings.s3_prefix, endpoint_url=settings.s3_endpoint_url,
                       region=settings.s3_region)
    return LocalBlobs(settings.data_dir)
