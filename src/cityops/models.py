"""Every table, imported once so that ``Base.metadata`` is complete (Alembic, tests)."""

from cityops.calendar.models import CalendarDay
from cityops.cases.models import Case, CaseAssignment, CaseDeadline, CaseEvent, Supervision
from cityops.categories.models import Category
from cityops.geo.models import Area, ChangeStamp, PlaceholderPoint
from cityops.jobs import JobLease
from cityops.live import LiveEvent
from cityops.media.models import Attachment
from cityops.notify.models import Notification, Webhook, WebhookDelivery
from cityops.org.models import ApiClient, Department, OpsCentre, Responsibility, ResponsibilityAssist, User
from cityops.outbox import OutboxEvent
from cityops.sensing import models as sensing_models  # noqa: F401  (registers the sensing tables)

__all__ = [
    "ApiClient", "Area", "Attachment", "CalendarDay", "Case", "CaseAssignment", "CaseDeadline", "CaseEvent", "Category",
    "ChangeStamp", "JobLease", "LiveEvent", "Notification", "OutboxEvent", "Supervision", "Webhook", "WebhookDelivery",
    "Department", "OpsCentre", "PlaceholderPoint", "Responsibility", "ResponsibilityAssist", "User",
]
