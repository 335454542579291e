"""Where reports come from (渠道)."""

from enum import StrEnum


class Channel(StrEnum):
    hotline_12345 = "hotline_12345"
    grid_patrol = "grid_patrol"
    citizen_photo = "citizen_photo"
    iot_warning = "iot_warning"
    video_ai = "video_ai"
    department_system = "department_system"
    open311 = "open311"
    public_suggestion = "public_suggestion"


# Reports from these channels are registered by the platform itself; the rest wait for an operator.
DEFAULT_TRUSTED_CHANNELS = frozenset({Channel.grid_patrol, Channel.iot_warning, Channel.department_system})
