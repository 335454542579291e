"""Performance figures (综合评价): on-time closure, closure, rework, return and satisfaction rates and
handling times, computed from case timelines."""
