"""Storing uploads: checked by content (type and size) while spooled to the data directory, then
kept once under their SHA-256 in the blob store (``media.blobs``: the data directory or an S3
bucket), and looked up by that hash."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityops.errors import InvalidFile, InvalidInput, NotFound
from cityops.media.blobs import BlobStore
from cityops.media.models import Attachment
from cityops.media.sniff import LIMITS, MEGABYTE, media_type

CHUNK = MEGABYTE


def store(session: Session, *, root: Path, blobs: BlobStore, stream: BinaryIO, uploaded_by: str) -> Attachment:
    """Check and keep an uploaded file; the same content uploaded again returns the existing record."""
    head = stream.read(16)
    kind = media_type(head)
    if kind is None:
        raise InvalidFile("only JPEG, PNG, WebP or HEIC photos and MP4 or MOV videos are accepted",
                          code="not_a_photo_or_video", field="file")
    limit = LIMITS[kind]
    digest, size = hashlib.sha256(head), len(head)
    (root / "attachments").mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=root / "attachments", delete=False) as spool:
        spool.write(head)
        try:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise InvalidFile(f"a {kind} file may be at most {limit // MEGABYTE} MB", code="file_too_large",
                                      field="file")
                digest.update(chunk)
                spool.write(chunk)
        except InvalidFile:
            spool.close()
            os.unlink(spool.name)
            raise
    sha256 = digest.hexdigest()
    blobs.put(sha256, Path(spool.name), kind)
    existing = session.get(Attachment, sha256)
    if existing is not None:
        return existing
    attachment = Attachment(sha256=sha256, media_type=kind, size=size, uploaded_by=uploaded_by)
    session.add(attachment)
    session.flush()
    return attachment


def get(session: Session, *, sha256: str) -> Attachment:
    attachment = session.get(Attachment, sha256.lower())
    if attachment is None:
        raise NotFound("no such attachment", code="unknown_attachment", field="sha256")
    return attachment


def require_all(session: Session, hashes: Iterable[str]) -> list[str]:
    """The hashes, checked to name stored attachments (a report may not cite files it never sent)."""
    wanted = [h.lower() for h in hashes]
    if not wanted:
        return []
    known = set(session.scalars(select(Attachment.sha256).where(Attachment.sha256.in_(wanted))))
    missing = [h for h in wanted if h not in known]
    if missing:
        raise InvalidInput(f"unknown attachment(s): {', '.join(missing[:5])}; upload them first",
                           field="attachments")
    return wanted
