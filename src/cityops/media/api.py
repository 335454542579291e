"""Uploading and fetching photos and videos."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Path, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel

from cityops import ratelimit
from cityops.deps import AppSettings, CurrentPrincipal, DbSession, Reader
from cityops.media import service

router = APIRouter(prefix="/api/v1", tags=["attachments"])
Sha256 = Annotated[str, Path(pattern=r"^[0-9a-fA-F]{64}$")]


class AttachmentOut(BaseModel):
    sha256: str
    media_type: str
    size: int


@router.post("/attachments", response_model=AttachmentOut, status_code=201,
             summary="Upload a photo or video; cite its sha256 in a report or action")
def upload(request: Request, session: DbSession, settings: AppSettings, principal: CurrentPrincipal,
           file: Annotated[UploadFile, File(description="JPEG, PNG, WebP, HEIC, MP4 or MOV")]) -> AttachmentOut:
    stored = service.store(session, root=settings.data_dir, blobs=request.app.state.blobs, stream=file.file,
                           uploaded_by=principal.name)
    return AttachmentOut(sha256=stored.sha256, media_type=stored.media_type, size=stored.size)


@router.post("/public/attachments", response_model=AttachmentOut, status_code=201, tags=["citizens"],
             summary="A citizen uploads a photo for a report (no account needed)")
def citizen_upload(request: Request, session: DbSession, settings: AppSettings,
                   file: Annotated[UploadFile, File(description="JPEG, PNG, WebP or HEIC")]) -> AttachmentOut:
    """Checked by content like any upload; rate-limited per client address (429 with Retry-After)."""
    ratelimit.take(request.app.state, "citizen_uploads", ratelimit.client_address(request))
    stored = service.store(session, root=settings.data_dir, blobs=request.app.state.blobs, stream=file.file,
                           uploaded_by="citizen")
    return AttachmentOut(sha256=stored.sha256, media_type=stored.media_type, size=stored.size)


@router.get("/attachments/{sha256}", summary="Fetch an attachment",
            responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "video/mp4": {}},
                             "description": "the file"}})
def fetch(request: Request, session: DbSession, _: Reader, sha256: Sha256) -> Response:
    attachment = service.get(session, sha256=sha256)
    return request.app.state.blobs.response(attachment.sha256, attachment.media_type)
