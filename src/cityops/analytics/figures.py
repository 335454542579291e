"""What each performance figure is called and what it counts, in the order every output shows them: the
API's schema, `cityops report`, the spreadsheet and the CSV all take their names and explanations from
here, in Chinese (the product's language) or English.

Every rate is a share of two counts that the report also gives (``RATE_PARTS``), so that a reader can
check it: 退单率 100% with 派遣 1 次、退单 1 次 says what it is, where 100% beside 案件数 0 did not.
"""

from __future__ import annotations

from typing import Literal

Language = Literal["zh-CN", "en"]
LANGUAGES: tuple[Language, ...] = ("zh-CN", "en")

RATE_PARTS: dict[str, tuple[str, str]] = {
    "closure_rate": ("closed", "registered"),
    "on_time_closure_rate": ("closed_on_time", "closed"),
    "overdue_rate": ("overdue_cases", "cases"),
    "rework_rate": ("reworked", "handled"),
    "return_rate": ("returns", "dispatches"),
    "satisfaction_rate": ("satisfied", "rated"),
}
"""Each rate's numerator and denominator, both figures of the same row; a rate is None when its
denominator is 0."""

COUNTS = ("cases", "registered", "closed", "closed_on_time", "overdue_cases", "overdue_now", "handled", "reworked",
          "dispatches", "returns", "rated", "satisfied")
HOURS = ("median_handling_hours", "mean_handling_hours")

FIGURES = (
    "cases", "registered", "closed", "closure_rate", "closed_on_time", "on_time_closure_rate", "overdue_cases",
    "overdue_rate", "overdue_now", "handled", "reworked", "rework_rate", "dispatches", "returns", "return_rate",
    "rated", "satisfied", "satisfaction_rate", "mean_rating", *HOURS,
)
"""Every figure of a row, each rate after its two counts: the spreadsheet's and the CSV's columns."""

MAIN_FIGURES = ("cases", "closure_rate", "on_time_closure_rate", "overdue_cases", "overdue_rate", "overdue_now",
                "rework_rate", "return_rate", "satisfaction_rate", "mean_rating", *HOURS)
"""The figures a table on screen gives a column each (a rate with its two counts beside it)."""

HEADINGS: dict[Language, dict[str, str]] = {
    "zh-CN": {
        "group": "分组", "name": "名称", "code": "编码", "cases": "案件数", "registered": "已立案件数",
        "closed": "已结案件数", "closure_rate": "结案率", "closed_on_time": "按期结案件数",
        "on_time_closure_rate": "按期结案率", "overdue_cases": "逾期案件数", "overdue_rate": "逾期率",
        "overdue_now": "当前逾期", "handled": "已处置案件数", "reworked": "返工案件数", "rework_rate": "返工率",
        "dispatches": "派遣次数", "returns": "退单次数", "return_rate": "退单率", "rated": "已评价案件数",
        "satisfied": "满意案件数", "satisfaction_rate": "满意率", "mean_rating": "平均评分",
        "median_handling_hours": "处置时长中位数（小时）", "mean_handling_hours": "平均处置时长（小时）",
    },
    "en": {
        "group": "Group", "name": "Name", "code": "Code", "cases": "Cases", "registered": "Registered",
        "closed": "Closed", "closure_rate": "Closure rate", "closed_on_time": "Closed on time",
        "on_time_closure_rate": "On-time closure rate", "overdue_cases": "Overdue cases",
        "overdue_rate": "Overdue rate",
        "overdue_now": "Overdue now", "handled": "Handled", "reworked": "Reworked", "rework_rate": "Rework rate",
        "dispatches": "Dispatches", "returns": "Returns", "return_rate": "Return rate", "rated": "Rated",
        "satisfied": "Satisfied", "satisfaction_rate": "Satisfaction rate", "mean_rating": "Mean rating",
        "median_handling_hours": "Median handling (hours)", "mean_handling_hours": "Mean handling (hours)",
    },
}

GROUP_HEADINGS: dict[Language, dict[str, str]] = {
    "zh-CN": {"department": "部门", "area": "区域", "category": "事项分类", "month": "月份", "week": "周"},
    "en": {"department": "Department", "area": "Area", "category": "Category", "month": "Month", "week": "Week"},
}
"""The first column's heading, and the sheet's name: by what the report groups."""

UNASSIGNED: dict[Language, dict[str, str]] = {
    "zh-CN": {"department": "未分派", "area": "未指定", "category": "未指定"},
    "en": {"department": "(not dispatched)", "area": "(none)", "category": "(none)"},
}
"""The name of the group of cases with no department (never dispatched), area or category."""

TOTAL: dict[Language, str] = {"zh-CN": "合计", "en": "Total"}

EXPLANATIONS: dict[Language, dict[str, str]] = {
    "zh-CN": {
        "group": "按部门时，案件及其结果记在最后一次派遣的主办部门；派遣和退单则记在收到派遣、退单的部门，所以把案件"
                 "退回、由别的部门办理的部门，可能案件数为 0 而有派遣和退单。",
        "name": "分组的名称：部门、区域或类别的名称（按月、按周时为空）。",
        "cases": "周期内受理的案件数（按受理时间统计）。",
        "registered": "已立案的案件数。",
        "closed": "已结案的案件数。",
        "closure_rate": "已结案件 ÷ 已立案件。",
        "closed_on_time": "每个环节都在时限内完成的已结案件数（超时后才申请延期的环节不算按期；被退回或缓办中止的"
                          "环节没有完成，不论早晚都不算超时完成，退回记入退单率）。",
        "on_time_closure_rate": "按期结案件 ÷ 已结案件。",
        "overdue_cases": "有环节在周期结束前超过时限仍未完成的案件数（含超时后才完成、超时后才被退回或缓办、"
                         "超时后才申请延期的）。",
        "overdue_rate": "逾期案件 ÷ 案件数。",
        "overdue_now": "尚未办结、现有环节已超过时限的案件数。",
        "handled": "有过处置反馈的案件数。",
        "reworked": "核查不通过、被退回重办过至少一次的案件数。",
        "rework_rate": "返工案件 ÷ 已处置案件。",
        "dispatches": "派遣和改派给部门的次数（主办和协办部门都计）。",
        "returns": "部门退单的次数。",
        "return_rate": "退单次数 ÷ 派遣次数。",
        "rated": "已评价的案件数；重新打开的案件评价作废。",
        "satisfied": "评 4 星或 5 星的案件数。",
        "satisfaction_rate": "满意案件 ÷ 已评价案件。",
        "mean_rating": "已评价案件的平均星级（1–5）。",
        "median_handling_hours": "从最后一次派遣到其后第一次处置反馈的小时数，取中位数（自然时间）。",
        "mean_handling_hours": "同上，取平均数（自然时间）。",
    },
    "en": {
        "group": "By department, a case and its outcome count for the lead department of its last dispatch, while "
                 "dispatches and returns count for the department that received and returned them: a department "
                 "that returned a case another then handled may have 0 cases and yet dispatches and returns.",
        "name": "The group's name: the department's, area's or category's (empty by month or week).",
        "cases": "Cases opened in the period (by the time they were opened).",
        "registered": "Cases registered.",
        "closed": "Cases closed.",
        "closure_rate": "Closed cases ÷ registered cases.",
        "closed_on_time": "Closed cases none of whose steps was met after its deadline (a step whose extension was "
                          "asked for only after its deadline had passed was met late); a step cut short by a return "
                          "or stopped by a deferral was not met, on time or late (the return counts in the return "
                          "rate).",
        "on_time_closure_rate": "Cases closed on time ÷ closed cases.",
        "overdue_cases": "Cases with a step whose deadline passed unmet before the period's end (met late, returned "
                         "or deferred only after it had passed, still unmet, or extended on a request made only "
                         "after it had passed).",
        "overdue_rate": "Overdue cases ÷ cases.",
        "overdue_now": "Cases still open with a step now past its deadline.",
        "handled": "Cases with a handling report.",
        "reworked": "Handled cases sent back by a failed verification at least once.",
        "rework_rate": "Reworked cases ÷ handled cases.",
        "dispatches": "Dispatches and reassignments to departments (lead and assisting alike).",
        "returns": "Returns by departments.",
        "return_rate": "Returns ÷ dispatches.",
        "rated": "Rated cases; reopening a case voids its rating.",
        "satisfied": "Cases rated 4 or 5.",
        "satisfaction_rate": "Satisfied cases ÷ rated cases.",
        "mean_rating": "The mean score (1–5) of the rated cases.",
        "median_handling_hours": "Hours from the last dispatch to the first handling report after it, median "
                                 "(clock time).",
        "mean_handling_hours": "The same, mean (clock time).",
    },
}

DEFINITIONS = {key: f"{EXPLANATIONS['zh-CN'][key]} {EXPLANATIONS['en'][key]}" for key in EXPLANATIONS["zh-CN"]}
"""Both languages' explanations in one: the API schema's descriptions."""
