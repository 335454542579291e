"""The token bucket of anonymous submissions, on a clock the test moves."""

from __future__ import annotations

import pytest

from cityops import ratelimit
from cityops.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_one_token_per_interval() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=5, burst=5, clock=clock)
    assert [limiter.take("1.2.3.4").allowed for _ in range(6)] == [True] * 5 + [False]
    assert limiter.take("1.2.3.4").retry_after_s == pytest.approx(12)
    clock.now += 6
    refused = limiter.take("1.2.3.4")
    assert not refused.allowed and refused.retry_after_s == pytest.approx(6)
    clock.now += 6
    assert limiter.take("1.2.3.4").allowed and not limiter.take("1.2.3.4").allowed
    clock.now += 3600  # a quiet hour refills to the burst, no further
    assert [limiter.take("1.2.3.4").allowed for _ in range(6)] == [True] * 5 + [False]


def test_each_client_has_its_own_bucket() -> None:
    limiter = RateLimiter(per_minute=1, burst=1, clock=Clock())
    assert limiter.take("a").allowed and not limiter.take("a").allowed
    assert limiter.take("b").allowed


def test_full_buckets_are_forgotten_when_too_many_clients_are_tracked() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=60, burst=2, clock=clock, max_clients=3)
    for client in ("a", "b", "c"):
        limiter.take(client)
    clock.now += 1  # a, b and c are full again
    limiter.take("a")
    limiter.take("d")
    assert len(limiter) == 2  # b and c forgotten; a (not full) kept, so its limit holds
    assert limiter.take("a").allowed and not limiter.take("a").allowed


def test_the_defaults_are_five_a_minute_with_a_burst_of_five() -> None:
    limiter = RateLimiter(clock=Clock())
    assert (ratelimit.PER_MINUTE, ratelimit.BURST) == (5, 5)
    assert [limiter.take("x").allowed for _ in range(6)] == [True] * 5 + [False]


def test_a_limiter_needs_a_rate_and_a_burst() -> None:
    with pytest.raises(ValueError):
        RateLimiter(per_minute=0)
    with pytest.raises(ValueError):
        RateLimiter(burst=0)
