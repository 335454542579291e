"""The demo city's category-suggestion model: trained by ``cityops demo`` on example phrases shipped
with the package (``category_phrases.txt``, written for CityOps), one set per category of the demo's
tree, and written under the data directory, where the server finds it when
``CITYOPS_CLASSIFIER_MODEL`` is not set.

Why phrases and not the labelled citizen messages of the public data folder: those carry seven
first-level classes (交通运输, 城乡建设, 劳动和社会保障 …) that cut across the demo's 119 categories
(交通运输 holds 路灯, 路桥规费 and taxi fares alike), so no label names one demo category and none
can stand in for one. The model therefore trains on the same shipped text on every machine, with or
without that folder.

Each phrase is learned as written and inside neutral context (a place before it, a request after),
so that places and polite formulas, which every category shares, carry no weight of their own.
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from cityops.classify import model as classifier
from cityops.config import DEMO_CLASSIFIER_MODEL
from cityops.errors import InvalidFile

PHRASES_FILE = "category_phrases.txt"
TRAINING_VERSION = 1
"""Raised when the way examples are made from the phrases changes, so existing models are retrained."""

PLACES = ("", "", "小区门口", "我家楼下", "学校旁边", "菜市场附近", "公交站边上", "XX路和XX路路口", "地铁站出口",
          "公园里", "新村", "街道办对面", "商场门前", "沿河步道", "老小区里")
REQUESTS = ("", "", "，请尽快处理", "，好几天了没人管", "，希望有关部门处理一下", "，很危险", "。谢谢！",
            "，影响居民生活", "，多次反映都没有解决")
VARIANTS = 2
"""Examples in context per phrase, besides the phrase itself."""


@dataclass(frozen=True)
class CategoryPhrases:
    code: str
    name: str
    phrases: tuple[str, ...]


@dataclass(frozen=True)
class DemoModel:
    path: Path
    trained: bool
    """False when the file was already the model of these phrases and was kept."""
    categories: int
    examples: int
    seconds: float


def phrases_text() -> str:
    return resources.files("cityops.demo").joinpath(PHRASES_FILE).read_text(encoding="utf-8")


def read_phrases(text: str | None = None) -> list[CategoryPhrases]:
    """The categories and their phrases, in file order; InvalidFile names the first malformed line."""
    text = phrases_text() if text is None else text
    found: list[CategoryPhrases] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        head, equals, body = line.partition("=")
        code, _, name = head.strip().partition(" ")
        phrases = tuple(p.strip() for p in body.split("|") if p.strip())
        if not equals or not code or not name.strip() or not phrases:
            raise InvalidFile(f"{PHRASES_FILE} line {number}: expected `<code> <name> = <phrase> | <phrase> …`",
                              field="phrases")
        if code in seen:
            raise InvalidFile(f"{PHRASES_FILE} line {number}: category {code} appears twice", field="phrases")
        seen.add(code)
        found.append(CategoryPhrases(code=code, name=name.strip(), phrases=phrases))
    return found


def training_examples(categories: list[CategoryPhrases]) -> tuple[list[str], list[str]]:
    """(text, category code) pairs: each phrase as written and in ``VARIANTS`` neutral contexts
    (drawn with a fixed seed, so the same phrases always make the same examples)."""
    draw = random.Random(TRAINING_VERSION)
    texts, labels = [], []
    for category in categories:
        for phrase in category.phrases:
            texts.append(phrase)
            labels.append(category.code)
            for _ in range(VARIANTS):
                texts.append(f"{draw.choice(PLACES)}{phrase}{draw.choice(REQUESTS)}")
                labels.append(category.code)
    return texts, labels


def fingerprint(text: str | None = None) -> str:
    """Names what a demo model was trained on: the phrases' digest and the training version."""
    text = phrases_text() if text is None else text
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return f"demo-phrases/{TRAINING_VERSION}/{digest}"


def train() -> classifier.CategoryModel:
    text = phrases_text()
    categories = read_phrases(text)
    texts, labels = training_examples(categories)
    trained = classifier.train(texts, labels)
    trained.source = {"kind": "demo phrases", "fingerprint": fingerprint(text),
                      "phrases": sum(len(c.phrases) for c in categories), "examples": len(texts)}
    return trained


def model_path(data_dir: Path) -> Path:
    return Path(data_dir) / DEMO_CLASSIFIER_MODEL


def is_current(path: Path) -> bool:
    """Whether ``path`` holds a readable model header from the current phrases and this scikit-learn."""
    import importlib.metadata

    try:
        header = classifier.header_of(path)
    except (OSError, InvalidFile):
        return False
    source = header.get("source") or {}
    return (source.get("fingerprint") == fingerprint()
            and header.get("sklearn") == importlib.metadata.version("scikit-learn"))


def ensure(data_dir: Path, *, force: bool = False) -> DemoModel:
    """Train and write the demo model under ``data_dir`` unless the file there is already the model
    of the current phrases (a missing, damaged or outdated file is replaced)."""
    started = time.perf_counter()
    path = model_path(data_dir)
    if not force and is_current(path):
        header = classifier.header_of(path)
        return DemoModel(path=path, trained=False, categories=len(header["labels"]),
                         examples=sum(header["examples"].values()), seconds=round(time.perf_counter() - started, 2))
    trained = train()
    classifier.save(trained, path)
    return DemoModel(path=path, trained=True, categories=len(trained.labels), examples=sum(trained.examples.values()),
                     seconds=round(time.perf_counter() - started, 2))
