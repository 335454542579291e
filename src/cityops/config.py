"""Settings, read from the environment with the ``CITYOPS_`` prefix."""

from __future__ import annotations

import contextlib
import ipaddress
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-insecure-secret-change-me"
DEV_DEMO_PASSWORD = "cityops-demo"
DEMO_CLASSIFIER_MODEL = Path("classifier") / "demo-categories.model"
"""Where `cityops demo` writes the demo city's category-suggestion model, under data_dir."""


class RateLimit(BaseModel):
    """One kind of anonymous request's token bucket per client address (``cityops.ratelimit``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_minute: float = Field(gt=0, allow_inf_nan=False, description="requests a client may make per minute, "
                              "sustained (the bucket refills at this rate)")
    burst: int = Field(ge=1, description="requests a client may make at once after a quiet spell (the bucket's size)")


def trusted_proxies(value: str) -> str:
    """A comma-separated list of the addresses or networks of trusted reverse proxies, or ``*`` (any), as
    uvicorn's ``forwarded_allow_ips`` takes it; anything else is refused (uvicorn would take a mistyped
    address or a network with host bits set as a name that never matches, and trust no one)."""
    entries = [entry.strip() for entry in value.split(",") if entry.strip()]
    if entries == ["*"]:
        return "*"
    if not entries:
        raise ValueError("give the addresses or networks of the trusted proxies (comma-separated), or *")
    for entry in entries:
        if entry == "*":
            raise ValueError("* (trust any peer) stands alone, not in a list")
        try:
            ipaddress.ip_network(entry) if "/" in entry else ipaddress.ip_address(entry)
        except ValueError:
            hint = ""
            if "/" in entry:
                with contextlib.suppress(ValueError):
                    hint = f" (did you mean {ipaddress.ip_network(entry, strict=False)}?)"
            raise ValueError(f"{entry!r} is not an IP address or network{hint}") from None
    return ",".join(entries)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYOPS_", env_file=".env", extra="ignore")

    environment: str = Field("dev", description="dev, test or production; production refuses dev secrets")
    data_dir: Path = Field(Path("./var"), description="where the embedded store and uploads live")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default: SQLite under data_dir")
    secret_key: str = Field(DEV_SECRET, description="signs access tokens")
    access_token_minutes: int = 12 * 60
    demo_password: str = DEV_DEMO_PASSWORD
    boundary_distance_m: float = Field(30.0, ge=0, description="points this close to a boundary are flagged")
    placeholder_radius_m: float = Field(25.0, ge=0, description="default radius of a placeholder point")
    business_hours: list[str] = Field(["09:00-12:00", "13:00-18:00"],
                                      description="working periods of a working day, local time")
    timezone: str = Field("Asia/Shanghai", description="IANA time zone of the city's working hours")
    trusted_channels: list[str] = Field(["grid_patrol", "iot_warning", "department_system"],
                                        description="channels whose reports the platform registers itself")
    auto_dispatch: bool = Field(True, description="dispatch reports from trusted channels that the matrix can route "
                                "as they are taken in (an operator's registration leaves the case to a dispatcher)")
    duplicate_default: dict[str, float] = Field({"radius_m": 100, "window_h": 72},
                                                description="radius and time window for duplicate reports")
    duplicate_rules: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="per category-code prefix, e.g. {\"E04\": {\"radius_m\": 300, "
                                          "\"window_h\": 6}}")
    duplicate_auto_merge_score: float = Field(0.75, ge=0, le=1.01, description="merge at or above this score "
                                              "(1.01: never merge automatically)")
    classifier_model: Path | None = Field(
        None, description="the category-suggestion model (a file from `cityops classifier train`): citizens get "
                          "suggestions as they type, and reports without a category get them at intake. When unset, "
                          "the demo city's model that `cityops demo` writes (data_dir/classifier/"
                          "demo-categories.model) if that file exists when the settings are read (at start); "
                          "a model set here always wins. No model: no suggestions")
    supervision_limit: str = Field("1wd", description="deadline of a supervision (督办) of an overdue step")
    sweep_interval_s: float = Field(30.0, ge=0, description="seconds between in-process rounds of background "
                                    "jobs (sweeper, notifications, webhooks), the first as the server starts; "
                                    "0: none — run `cityops worker`")
    readings_raw_days: int = Field(90, ge=1, description="days raw sensor readings are kept")
    readings_rollup_days: int = Field(730, ge=1, description="days 1-minute and 1-hour rollups are kept")
    indicator_values_days: int = Field(730, ge=1, description="days indicators' values per bucket (their series) are "
                                       "kept; each area's latest value stays whatever its age")
    mqtt_url: str | None = Field(None, description="MQTT broker (mqtt://host:1883, mqtts://…) whose "
                                 "cityops/devices/{device}/readings the API consumes in-process; "
                                 "`cityops sensing consume` reads it too")
    sqlite_checkpoint_interval_s: float = Field(
        1.0, ge=0, description="the server copies SQLite's write-ahead log back from a thread of its own this often, "
                               "instead of inside whichever request's commit fills it (a 120–260 ms stall); "
                               "0: SQLite's own automatic checkpoints")
    settle_at_startup: bool | None = Field(
        None, description="build the locator and calendar before the first request, then exempt what is alive "
                          "from garbage collection (a full collection over it paused requests for 100–250 ms); "
                          "default: on, except in tests")
    shared_data_dir: Path = Field(Path("../shared/data"), description="public data used by the demo city")
    demo_fleet_devices: int = Field(24, ge=0, le=10_000, description="simulated devices the served demo feeds "
                                    "in-process when the store holds a demo city (not in tests unless set); 0: none")
    demo_fleet_rate: float = Field(2.0, gt=0, description="readings per second of the served demo's simulated fleet")
    s3_bucket: str | None = Field(None, description="keep photos and videos in this S3-compatible bucket "
                                  "instead of data_dir (needs `pip install 'cityops[s3]'`)")
    s3_prefix: str = Field("attachments/", description="key prefix of attachments in the bucket")
    s3_endpoint_url: str | None = Field(None, description="endpoint of an S3-compatible store (MinIO, Ceph …); "
                                        "default: AWS")
    s3_region: str | None = Field(None, description="the bucket's region")
    limit_citizen_reports: RateLimit = Field(RateLimit(per_minute=5, burst=5), description="citizens' reports "
                                             "(POST /api/v1/public/cases) per client address, e.g. "
                                             "{\"per_minute\": 5, \"burst\": 5}; buckets are per process")
    limit_citizen_uploads: RateLimit = Field(RateLimit(per_minute=20, burst=10), description="citizens' photos "
                                             "(POST /api/v1/public/attachments) per client address: a report "
                                             "comes with a few")
    limit_citizen_ratings: RateLimit = Field(RateLimit(per_minute=5, burst=5), description="citizens' ratings "
                                             "of closed cases per client address")
    limit_open311_requests: RateLimit = Field(RateLimit(per_minute=5, burst=5), description="Open311 POST "
                                              "requests without an api_key per client address (a bucket of "
                                              "its own, beside citizens' reports)")
    forwarded_allow_ips: str | None = Field(
        None, description="reverse proxies `cityops serve` trusts to say the client's address "
                          "(X-Forwarded-For): comma-separated addresses or networks, or * for any peer; "
                          "default: uvicorn's FORWARDED_ALLOW_IPS, else 127.0.0.1 and ::1")

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _trusted_proxies(cls, value: str | None) -> str | None:
        return None if value is None else trusted_proxies(value)

    @model_validator(mode="after")
    def _refuse_dev_secrets_outside_dev(self) -> Settings:
        if self.environment not in {"dev", "test"}:
            if self.secret_key == DEV_SECRET or len(self.secret_key) < 32:
                raise ValueError("CITYOPS_SECRET_KEY must be set to a random value of 32+ characters")
            if self.demo_password == DEV_DEMO_PASSWORD:
                raise ValueError("CITYOPS_DEMO_PASSWORD must not be the development default")
        return self

    @model_validator(mode="after")
    def _default_classifier_model(self) -> Settings:
        if self.classifier_model is None and (self.data_dir / DEMO_CLASSIFIER_MODEL).is_file():
            self.classifier_model = self.data_dir / DEMO_CLASSIFIER_MODEL
        return self

    @property
    def anonymous_limits(self) -> dict[str, RateLimit]:
        """Each kind of anonymous request's limit, by the kind ``cityops.ratelimit.take`` is given."""
        return {"citizen_reports": self.limit_citizen_reports, "citizen_uploads": self.limit_citizen_uploads,
                "citizen_ratings": self.limit_citizen_ratings, "open311_requests": self.limit_open311_requests}

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            url = self.database_url
            if url.startswith("postgresql://") or url.startswith("postgres://"):
                url = "postgresql+psycopg://" + url.split("://", 1)[1]
            return url
        return f"sqlite:///{(self.data_dir / 'cityops.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
