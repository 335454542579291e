"""What a file is, judged by its first bytes rather than its name or declared type."""

from __future__ import annotations

MEGABYTE = 1024 * 1024
# media type → (how to recognise it from the first bytes, the largest file accepted)
LIMITS = {
    "image/jpeg": 15 * MEGABYTE,
    "image/png": 15 * MEGABYTE,
    "image/webp": 15 * MEGABYTE,
    "image/heic": 15 * MEGABYTE,
    "video/mp4": 200 * MEGABYTE,
    "video/quicktime": 200 * MEGABYTE,
}


def media_type(head: bytes) -> str | None:
    """The media type of a file starting with ``head`` (16 bytes suffice), or None if not accepted."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1"):
            return "image/heic"
        if brand == b"qt  ":
            return "video/quicktime"
        return "video/mp4"
    return None
