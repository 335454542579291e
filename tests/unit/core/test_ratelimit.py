"""The token bucket of anonymous submissions, on a clock the test moves, and the client each bucket is
kept for: an IPv4 address, or an IPv6 client's whole /64."""

from __future__ import annotations

import pytest
from starlette.requests import Request

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


@pytest.mark.parametrize(("host", "key"), [
    ("192.0.2.1", "192.0.2.1"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("2001:DB8:1:2::ffff", "2001:db8:1:2::/64"),  # written otherwise, the same network
    ("2001:db8:1:3::1", "2001:db8:1:3::/64"),  # the next /64: another subscriber
    ("::ffff:192.0.2.1", "192.0.2.1"),  # an IPv4 peer as a dual-stack socket reports it
    ("::ffff:c000:201", "192.0.2.1"),
    ("fe80::1%eth0", "fe80::/64"),
    ("testclient", "testclient"),  # not an address: as it is
])
def test_an_ipv6_client_is_its_64_network_and_an_ipv4_client_its_address(host: str, key: str) -> None:
    assert ratelimit.client_key(host) == key


def _request(host: str | None) -> Request:
    return Request({"type": "http", "method": "POST", "path": "/", "headers": [],
                    "client": (host, 50_000) if host else None})


def test_addresses_of_one_ipv6_network_share_a_bucket_and_ipv4_addresses_do_not() -> None:
    limiter = RateLimiter(per_minute=1, burst=2, clock=Clock())
    rotated = [f"2001:db8:aa:bb:{n:x}:{n * 7:x}::{n:x}" for n in range(1, 4)]
    assert [limiter.take(ratelimit.client_address(_request(host))).allowed for host in rotated] == [True, True, False]
    assert limiter.take(ratelimit.client_address(_request("2001:db8:aa:bc::1"))).allowed  # the next network
    # neighbours on IPv4 are different clients (one address is one subscriber, or one NAT)
    assert [limiter.take(ratelimit.client_address(_request(f"198.51.100.{n}"))).allowed for n in (1, 2, 3)] == [
        True] * 3
    # an IPv4 client over a dual-stack socket spends the same tokens as over IPv4
    assert limiter.take(ratelimit.client_address(_request("::ffff:198.51.100.1"))).allowed
    assert not limiter.take(ratelimit.client_address(_request("198.51.100.1"))).allowed
    assert ratelimit.client_address(_request(None)) == "unknown"
