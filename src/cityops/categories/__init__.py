"""The category tree: components and events of digital city management, and citizen-message
classes, each with default time limits per step."""
