"""Photos and videos attached to reports and handling reports, stored once by content hash."""
