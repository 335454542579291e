"""Unified notifications (融合通信): domain events from the outbox to each user's in-app inbox and to
configured webhooks (HMAC-signed, retried with back-off, delivered at least once)."""
