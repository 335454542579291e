"""A token bucket per client for anonymous callers: citizens reporting, uploading photos and rating
(``/api/v1/public``), and Open311 submissions without an api_key.

Each client gets a bucket of ``burst`` tokens that refills at ``per_minute`` tokens a minute; a
submission takes one token, and an empty bucket says how long until the next one. Each kind's limit is
a setting (``CITYOPS_LIMIT_CITIZEN_REPORTS`` …, ``Settings.anonymous_limits``).

A client is an IPv4 address, or an IPv6 client's whole /64 network (``client_key``): a provider gives
one subscriber a /64, from which a client can take a fresh address for every request, so a bucket per
IPv6 address would not limit it at all. An IPv4-mapped IPv6 address (``::ffff:192.0.2.1``, as a
dual-stack socket reports an IPv4 peer) is that IPv4 address.

The address is the one ``client_address`` gives, the peer uvicorn reports: behind a reverse proxy,
the proxy's own address unless uvicorn trusts it to say the client's (``cityops serve
--forwarded-allow-ips``, uvicorn's ProxyHeadersMiddleware), or the whole city shares one bucket.

The buckets live in this process's memory: with several API processes each keeps its own, so a client
gets up to that many times the rate. At that scale the buckets belong in a shared store (Redis
``INCR``/``EXPIRE`` or the reverse proxy's limiter), keyed the same way.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cityops.config import get_settings
from cityops.errors import TooManyRequests

if TYPE_CHECKING:
    from starlette.requests import Request

PER_MINUTE = 5.0
"""Anonymous submissions a client may make per minute, sustained."""
BURST = 5
"""Anonymous submissions a client may make at once after a quiet spell."""
MAX_TRACKED_CLIENTS = 10_000
"""Past this many buckets, those that have refilled completely are forgotten (they hold no state)."""


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_s: float
    """Seconds until the next token (0 when allowed)."""


class RateLimiter:
    """Thread-safe token buckets keyed by client (the API runs sync routes on a thread pool)."""

    def __init__(self, *, per_minute: float = PER_MINUTE, burst: int = BURST,
                 clock: Callable[[], float] = time.monotonic, max_clients: int = MAX_TRACKED_CLIENTS) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("per_minute must be positive and burst at least 1")
        self.rate = per_minute / 60.0
        self.burst = burst
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def _refilled(self, bucket: _Bucket, now: float) -> float:
        return min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)

    def take(self, key: str) -> Decision:
        """Take one token from ``key``'s bucket if it has one."""
        with self._lock:
            now = self.clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self.max_clients:
                    self._forget_full(now)
                bucket = self._buckets[key] = _Bucket(tokens=float(self.burst), at=now)
            bucket.tokens, bucket.at = self._refilled(bucket, now), now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return Decision(True, 0.0)
            return Decision(False, (1 - bucket.tokens) / self.rate)

    def _forget_full(self, now: float) -> None:
        for key in [k for k, b in self._buckets.items() if self._refilled(b, now) >= self.burst]:
            del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)


_CREATING = threading.Lock()


def limiter_for(state: object, kind: str) -> RateLimiter:
    """The process's limiter for ``kind``, kept on the application's state (``state.rate_limiters``) and
    made on first use with the limit the app's settings (``state.settings``) give that kind."""
    with _CREATING:
        limiters = getattr(state, "rate_limiters", None)
        if limiters is None:
            limiters = {}
            setattr(state, "rate_limiters", limiters)  # noqa: B010  (app.state takes attributes only)
        if kind not in limiters:
            settings = getattr(state, "settings", None) or get_settings()
            limit = settings.anonymous_limits[kind]
            limiters[kind] = RateLimiter(per_minute=limit.per_minute, burst=limit.burst)
        return limiters[kind]


IPV6_CLIENT_PREFIX = 64
"""An IPv6 client is limited as its whole network of this prefix length: the /64 one subscriber gets."""


def client_key(host: str) -> str:
    """The bucket of a peer's address: an IPv4 address as itself, an IPv4-mapped IPv6 address as the IPv4
    address it maps, any other IPv6 address as its /64 network (``2001:db8:1:2::/64``); a host that is not an
    IP address (a test client's name, a Unix socket's) as it is."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        # the address as a number: a scope (fe80::1%eth0) names an interface, not a network
        return str(ipaddress.IPv6Network((int(address), IPV6_CLIENT_PREFIX), strict=False))
    return str(address)


def client_address(request: Request) -> str:
    """The client an anonymous caller is limited as (``client_key``) of the peer as uvicorn reports it.
    Behind a reverse proxy that is the proxy unless uvicorn trusts it to forward the client's
    (``--forwarded-allow-ips``)."""
    return client_key(request.client.host) if request.client else "unknown"


def take(state: object, kind: str, client: str) -> None:
    """Take one of ``client``'s tokens for ``kind``, or refuse with 429 and when to retry."""
    decision = limiter_for(state, kind).take(client)
    if not decision.allowed:
        wait = max(1, round(decision.retry_after_s))
        raise TooManyRequests(f"too many requests from your address: try again in {wait} s",
                              retry_after_s=decision.retry_after_s)

