"""Passwords, JWTs and API tokens."""

from datetime import UTC, datetime, timedelta

import pytest

from cityops.errors import NotAuthenticated
from cityops.org import security
from cityops.org.security import (
    create_access_token,
    decode_access_token,
    hash_api_token,
    hash_password,
    is_api_token,
    new_api_token,
    verify_password,
)

SECRET = "s" * 40


def test_password_hash_is_argon2_and_verifies() -> None:
    hashed = hash_password("correct horse")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "correct horse")
    assert not verify_password(hashed, "wrong horse")
    assert not verify_password("not-a-hash", "correct horse")


def test_token_round_trip() -> None:
    assert decode_access_token(create_access_token(user_id=7, secret=SECRET, minutes=5), secret=SECRET) == 7


def test_expired_token_is_refused_with_its_own_code() -> None:
    old = create_access_token(user_id=7, secret=SECRET, minutes=5, now=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(NotAuthenticated) as caught:
        decode_access_token(old, secret=SECRET)
    assert caught.value.code == "token_expired"


def test_token_signed_with_another_secret_is_refused() -> None:
    token = create_access_token(user_id=7, secret="x" * 40, minutes=5)
    with pytest.raises(NotAuthenticated) as caught:
        decode_access_token(token, secret=SECRET)
    assert caught.value.code == "invalid_token"


def test_a_token_checked_before_still_expires_on_time(monkeypatch: pytest.MonkeyPatch) -> None:
    token = create_access_token(user_id=7, secret=SECRET, minutes=5)
    assert decode_access_token(token, secret=SECRET) == 7  # its signature checked, and kept
    later = datetime.now(UTC) + timedelta(minutes=5, seconds=1)
    monkeypatch.setattr(security.time, "time", later.timestamp)
    with pytest.raises(NotAuthenticated) as caught:
        decode_access_token(token, secret=SECRET)
    assert caught.value.code == "token_expired"


def test_a_token_checked_under_one_secret_is_refused_under_another() -> None:
    token = create_access_token(user_id=7, secret=SECRET, minutes=5)
    assert decode_access_token(token, secret=SECRET) == 7
    with pytest.raises(NotAuthenticated) as caught:
        decode_access_token(token, secret="x" * 40)
    assert caught.value.code == "invalid_token"


def test_api_tokens_are_random_prefixed_and_stored_hashed() -> None:
    first, second = new_api_token(), new_api_token()
    assert first != second and is_api_token(first) and not is_api_token("eyJhbGciOi")
    assert hash_api_token(first) == hash_api_token(first) != hash_api_token(second)
    assert first not in hash_api_token(first)
