"""The work calendar (工作日历) and deadline arithmetic for case time limits (时限).

- ``workcalendar``: which dates are working days in China — weekends off, official holidays off,
  make-up working days (调休) on — seeded from the ``chinesecalendar`` package and corrected or
  extended by administrators' overrides for years the package does not know; plus business hours in
  a configurable time zone.
- ``deadlines``: a step's deadline from its start and its ``TimeLimit``, elapsed working time between
  two instants, time remaining and when to remind.

Pure values and functions, tested without a database; callers persist overrides and settings.
"""
