"""What each performance figure is called and what it counts, in the order every output shows them: the
API's schema, `cityops report`, the spreadsheet and the CSV all take their names and one-line
explanations from here (Chinese first, then English, as the console shows them)."""

from __future__ import annotations

HEADINGS = {
    "group": "分组 group", "name": "名称 name", "cases": "案件数 cases", "closure_rate": "结案率 closure",
    "on_time_closure_rate": "按期结案率 on-time closure", "overdue_cases": "逾期案件数 overdue cases",
    "overdue_rate": "逾期率 overdue", "overdue_now": "当前逾期 overdue now", "rework_rate": "返工率 rework",
    "return_rate": "退单率 return", "satisfaction_rate": "满意率 satisfaction", "mean_rating": "平均评分 rating",
    "median_handling_hours": "处置时长中位数(小时) median hours",
    "mean_handling_hours": "平均处置时长(小时) mean hours",
}

DEFINITIONS = {
    "group": "按部门时，案件的结果记在最后一次派遣的主办部门；退单记在退单的部门，派遣记在每个被派遣的部门。"
             " By department, a case's outcome counts for the lead department of its last dispatch; a return "
             "counts for the department that returned it, a dispatch for every department it went to.",
    "name": "分组的名称：部门、区域或类别的名称（按月、按周时为空）。"
            " The group's name: the department's, area's or category's (empty by month or week).",
    "cases": "周期内受理的案件数（按受理时间统计）。 Cases opened in the period (by the time they were opened).",
    "closure_rate": "已结案件 ÷ 已立案件。 Closed cases ÷ registered cases.",
    "on_time_closure_rate": "每个环节都在时限内完成的已结案件 ÷ 已结案件（超时后才申请延期的环节不算按期）。"
                            " Closed cases whose every step met its deadline ÷ closed cases (a step whose extension"
                            " was asked for only after its deadline had passed did not).",
    "overdue_cases": "有环节在周期结束前超过时限仍未完成的案件数（含超时后才完成、超时后才申请延期的）。"
                     " Cases with a step whose deadline passed unmet before the period's end (met late, still "
                     "unmet, or extended on a request made only after it had passed).",
    "overdue_rate": "有环节逾期的案件 ÷ 案件数。 Cases with an overdue step ÷ cases.",
    "overdue_now": "尚未办结、现有环节已超过时限的案件数。 Cases still open with a step now past its deadline.",
    "rework_rate": "核查不通过、被退回重办过至少一次的案件 ÷ 已处置案件。"
                   " Handled cases sent back by a failed verification at least once ÷ handled cases.",
    "return_rate": "部门退单次数 ÷ 派遣次数（主办和协办部门都计）。"
                   " Returns by departments ÷ dispatches to them (lead and assisting alike).",
    "satisfaction_rate": "评 4 星或 5 星的案件 ÷ 已评价案件；重新打开的案件评价作废。"
                         " Ratings of 4 or 5 ÷ rated cases; reopening a case voids its rating.",
    "mean_rating": "已评价案件的平均星级（1–5）。 The mean score (1–5) of the rated cases.",
    "median_handling_hours": "从最后一次派遣到其后第一次处置反馈的小时数，取中位数（自然时间）。"
                             " Hours from the last dispatch to the first handling report after it, median "
                             "(clock time).",
    "mean_handling_hours": "同上，取平均数（自然时间）。 The same, mean (clock time).",
}
