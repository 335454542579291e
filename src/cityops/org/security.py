"""Passwords (argon2), access tokens (JWT) and API-client tokens."""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from cityops.errors import NotAuthenticated

_hasher = PasswordHasher()
API_TOKEN_PREFIX = "cot_"
JWT_ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_access_token(*, user_id: int, secret: str, minutes: int, now: datetime | None = None) -> str:
    issued = now or datetime.now(UTC)
    claims = {"sub": str(user_id), "iat": issued, "exp": issued + timedelta(minutes=minutes), "typ": "user"}
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM)


VERIFIED_TOKENS_KEPT = 10_000
_verified: dict[tuple[str, str], tuple[int, float]] = {}
"""(token, secret) → (user id, expiry as a timestamp) of tokens whose signature checked out: a
request with a token seen before pays a dictionary lookup, not a signature check."""


def decode_access_token(token: str, *, secret: str) -> int:
    """The user id a valid token was issued to; NotAuthenticated otherwise."""
    seen = _verified.get((token, secret))
    if seen is not None:
        user_id, expires = seen
        if expires <= time.time():  # as PyJWT judges ``exp``, with no leeway
            raise NotAuthenticated("access token expired", code="token_expired")
        return user_id
    user_id, expires = _verify(token, secret=secret)
    if len(_verified) >= VERIFIED_TOKENS_KEPT:
        _verified.clear()
    _verified[token, secret] = (user_id, expires)
    return user_id


def _verify(token: str, *, secret: str) -> tuple[int, float]:
    try:
        claims = jwt.decode(token, secret, algorithms=[JWT_ALGORITHM], options={"require": ["exp", "sub"]})
    except jwt.ExpiredSignatureError as exc:
        raise NotAuthenticated("access token expired", code="token_expired") from exc
    except jwt.PyJWTError as exc:
        raise NotAuthenticated("invalid access token", code="invalid_token") from exc
    if claims.get("typ") != "user" or not str(claims["sub"]).isdigit():
        raise NotAuthenticated("invalid access token", code="invalid_token")
    return int(claims["sub"]), float(claims["exp"])


def new_api_token() -> str:
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_api_token(token: str) -> str:
    # API tokens carry 256 random bits, so a fast hash is enough (unlike passwords).
    return hashlib.sha256(token.encode()).hexdigest()


def is_api_token(token: str) -> bool:
    return token.startswith(API_TOKEN_PREFIX)
