"""A small synthetic set of Chinese citizen messages in three categories, each with its own words."""

from __future__ import annotations

import csv
import io

PLACES = ["A1区幸福小区", "A2区桂花街道", "A3区东风路", "A4县人民广场", "A5区滨江社区"]
TOPICS = {
    "城乡建设": ["路灯坏了晚上很黑", "井盖破损有安全隐患", "道路施工围挡占道"],
    "环境保护": ["工厂排放污水河水发臭", "夜间施工噪音扰民", "垃圾堆放散发臭味"],
    "教育文体": ["学校乱收学费", "老师课外有偿补课", "幼儿园入学报名难"],
}


def synthetic_messages() -> tuple[list[str], list[str]]:
    """15 messages per category: every topic phrase at every place."""
    texts, labels = [], []
    for label, phrases in TOPICS.items():
        for place in PLACES:
            for phrase in phrases:
                texts.append(f"{place}{phrase}，请有关部门尽快处理。")
                labels.append(label)
    return texts, labels


def csv_text(rows: list[list[str]], header: tuple[str, ...] = ("主题", "详情", "分类")) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def labelled_rows() -> list[list[str]]:
    """The synthetic messages as CSV rows: subject (the place), body (the rest), category."""
    texts, labels = synthetic_messages()
    return [[text[:6], text[6:], label] for text, label in zip(texts, labels, strict=True)]
