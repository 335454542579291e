"""The settings of anonymous rate limits and of trusted proxies: defaults, the environment's JSON, and a
clear refusal of anything that is not a limit or a proxy's address."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from cityops import ratelimit
from cityops.config import RateLimit, Settings, trusted_proxies


def test_the_defaults_are_the_limits_the_platform_always_had() -> None:
    limits = {kind: (limit.per_minute, limit.burst) for kind, limit in Settings().anonymous_limits.items()}
    assert limits == {"citizen_reports": (5, 5), "citizen_uploads": (20, 10), "citizen_ratings": (5, 5),
                      "open311_requests": (5, 5)}
    assert Settings().forwarded_allow_ips is None


def test_a_limit_is_set_by_its_environment_variable_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYOPS_LIMIT_CITIZEN_UPLOADS", '{"per_minute": 40, "burst": 30}')
    monkeypatch.setenv("CITYOPS_FORWARDED_ALLOW_IPS", " 10.0.0.5, 10.1.0.0/16 ")
    settings = Settings()
    assert settings.limit_citizen_uploads == RateLimit(per_minute=40, burst=30)
    assert settings.limit_citizen_reports == RateLimit(per_minute=5, burst=5)  # the others keep their defaults
    assert settings.forwarded_allow_ips == "10.0.0.5,10.1.0.0/16"


@pytest.mark.parametrize(("value", "words"), [
    ('{"per_minute": 0, "burst": 5}', "greater than 0"),
    ('{"per_minute": -3, "burst": 5}', "greater than 0"),
    ('{"per_minute": "inf", "burst": 5}', "finite"),
    ('{"per_minute": 5, "burst": 0}', "greater than or equal to 1"),
    ('{"per_minute": 5, "burst": 2.5}', "valid integer"),
    ('{"per_minute": 5}', "required"),
    ('{"per_minute": 5, "brust": 5}', "Extra inputs"),
])
def test_a_bad_limit_is_refused_naming_the_setting(monkeypatch: pytest.MonkeyPatch, value: str, words: str) -> None:
    monkeypatch.setenv("CITYOPS_LIMIT_CITIZEN_REPORTS", value)
    with pytest.raises(ValidationError, match=words) as refused:
        Settings()
    assert refused.value.errors()[0]["loc"][0] == "limit_citizen_reports"


def test_trusted_proxies_are_addresses_or_networks_or_a_lone_star() -> None:
    assert trusted_proxies("10.0.0.5, ::1 ,192.168.0.0/16,") == "10.0.0.5,::1,192.168.0.0/16"
    assert trusted_proxies(" * ") == "*"
    with pytest.raises(ValueError, match=r"did you mean 10\.0\.0\.0/8"):
        trusted_proxies("10.0.0.1/8")
    for bad, words in (("proxy.internal", "not an IP address"), ("10.0.0.5,*", "stands alone"),
                       (" , ", "give the addresses"), ("10.0.0.256", "not an IP address")):
        with pytest.raises(ValueError, match=words):
            trusted_proxies(bad)
    with pytest.raises(ValidationError, match="not an IP address"):
        Settings(forwarded_allow_ips="nginx")


def test_the_limiters_are_made_from_the_apps_settings_once_per_kind() -> None:
    state = SimpleNamespace(settings=Settings(limit_citizen_ratings=RateLimit(per_minute=12, burst=2)))
    ratings = ratelimit.limiter_for(state, "citizen_ratings")
    assert (ratings.rate, ratings.burst) == (12 / 60, 2)
    assert ratelimit.limiter_for(state, "citizen_ratings") is ratings
    assert ratelimit.limiter_for(state, "citizen_reports").burst == 5
    assert [ratings.take("1.2.3.4").allowed for _ in range(3)] == [True, True, False]
