"""The category-suggestion model: normalising text, training, suggesting, evaluating, saving.

Features are TF-IDF weights of character n-grams, which need no word segmenter for Chinese; the
classifier is a linear SVM whose scores are turned into probabilities by sigmoid calibration on
internal folds, so every suggestion carries a confidence. Measured on the 246 labelled citizen
messages of ``complaints_zh/labeled_train.csv`` (5-fold stratified cross-validation), 1–2-grams
beat longer ones and the SVM beats logistic regression; see the README for the figures.

A class needs ``MIN_EXAMPLES`` examples to be learned (the calibration folds); rarer classes are
left out of the model and named in ``CategoryModel.left_out``. In ``evaluate``, a class with fewer
examples than folds cannot appear in every test fold: it is trained on in every fold but not scored,
and named in ``Evaluation.unscored``.

Model files are pickles behind a header; load only files you made, as unpickling runs code.
"""

from __future__ import annotations

import csv
import html
import io
import json
import pickle
import re
import unicodedata
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cityops.errors import InvalidFile, InvalidInput
from cityops.files import decode_text

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline
# scikit-learn is imported where a model is trained, scored or loaded: importing it takes over a
# second, which every `cityops` command and server start would otherwise pay.

FORMAT_VERSION = 1
MAGIC = b"CITYOPS-CATEGORY-MODEL\n"
CALIBRATION_FOLDS = 3
MIN_EXAMPLES = CALIBRATION_FOLDS
TOP_K = 3
ANALYZERS = ("char", "char_wb")

_TAG = re.compile(r"</?(?:br|p|div|span|font|b|i|u|strong|em|a|img|table|tr|td|th|li|ul|ol|h[1-6])\b[^<>]*>",
                  re.IGNORECASE)
_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff]")
_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Text as the model sees it: HTML entities decoded and formatting tags dropped (but not
    ``<12345>`` or ``<<标准>>``, which people type), full-width forms made half-width (NFKC), Latin
    letters lower-cased, whitespace runs collapsed to one space and trimmed."""
    text = unicodedata.normalize("NFKC", html.unescape(text))
    text = _INVISIBLE.sub("", _TAG.sub(" ", text))
    return _SPACE.sub(" ", text).strip().lower()


@dataclass(frozen=True)
class ModelSettings:
    """The model's knobs; the defaults are the best setting measured on labeled_train.csv."""

    analyzer: str = "char"
    ngram_min: int = 1
    ngram_max: int = 2
    c: float = 1.0

    def __post_init__(self) -> None:
        if self.analyzer not in ANALYZERS:
            raise InvalidInput(f"analyzer must be one of {', '.join(ANALYZERS)}", field="analyzer")
        if not 1 <= self.ngram_min <= self.ngram_max <= 8:
            raise InvalidInput("n-gram lengths need 1 <= ngram_min <= ngram_max <= 8", field="ngram_max")
        if not self.c > 0:
            raise InvalidInput("C must be positive", field="c")


@dataclass(frozen=True)
class Suggestion:
    label: str
    score: float


class CategoryModel:
    """A trained model: ``suggest`` ranks its labels for one text, best first, with probabilities."""

    def __init__(self, pipeline: Pipeline, *, settings: ModelSettings, examples: dict[str, int],
                 left_out: dict[str, int], sklearn_version: str, source: dict | None = None) -> None:
        self.pipeline = pipeline
        self.settings = settings
        self.examples = examples
        self.left_out = left_out
        self.sklearn_version = sklearn_version
        self.source = dict(source or {})
        """What the model was trained on, as its maker describes it (kept in the file's header)."""

    @property
    def labels(self) -> list[str]:
        return [str(label) for label in self.pipeline.classes_]

    def suggest(self, text: str, k: int = TOP_K) -> list[Suggestion]:
        """The ``k`` likeliest labels for ``text``; none for a text that is empty once normalised."""
        return self.suggest_many([text], k)[0]

    def suggest_many(self, texts: Sequence[str], k: int = TOP_K) -> list[list[Suggestion]]:
        if k < 1:
            raise InvalidInput("k must be at least 1", field="k")
        cleaned = [normalize(t) for t in texts]
        present = [i for i, t in enumerate(cleaned) if t]
        ranked: list[list[Suggestion]] = [[] for _ in cleaned]
        if not present:
            return ranked
        probabilities = self.pipeline.predict_proba([cleaned[i] for i in present])
        labels = self.labels
        for i, row in zip(present, probabilities, strict=True):
            order = np.argsort(-row, kind="stable")[:k]
            ranked[i] = [Suggestion(labels[j], round(float(row[j]), 4)) for j in order]
        return ranked


def _pipeline(settings: ModelSettings) -> Pipeline:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import Pipeline
    from sklearn.svm import LinearSVC

    vectorizer = TfidfVectorizer(analyzer=settings.analyzer, ngram_range=(settings.ngram_min, settings.ngram_max),
                                 sublinear_tf=True, lowercase=False, dtype=np.float32)
    svm = LinearSVC(C=settings.c, random_state=0)
    return Pipeline([("tfidf", vectorizer),
                     ("classifier", CalibratedClassifierCV(svm, method="sigmoid", cv=CALIBRATION_FOLDS))])


def _checked(texts: Iterable[str], labels: Iterable[str]) -> tuple[list[str], list[str]]:
    texts, labels = list(texts), [str(label).strip() for label in labels]
    if len(texts) != len(labels):
        raise InvalidInput(f"{len(texts)} texts but {len(labels)} labels", field="labels")
    unlabelled = [i for i, label in enumerate(labels) if not label]
    if unlabelled:
        raise InvalidInput(f"{len(unlabelled)} example(s) without a label, the first at index {unlabelled[0]}",
                           field="labels")
    return texts, labels


def train(texts: Iterable[str], labels: Iterable[str], *, settings: ModelSettings | None = None) -> CategoryModel:
    """A model learned from (text, label) pairs, given as two parallel sequences. Empty texts are
    ignored; labels with fewer than ``MIN_EXAMPLES`` texts are left out (and reported)."""
    import sklearn
    from threadpoolctl import threadpool_limits

    settings = settings or ModelSettings()
    texts, labels = _checked(texts, labels)
    cleaned = [(normalize(t), label) for t, label in zip(texts, labels, strict=True)]
    cleaned = [(t, label) for t, label in cleaned if t]
    counts = Counter(label for _, label in cleaned)
    left_out = {label: n for label, n in sorted(counts.items()) if n < MIN_EXAMPLES}
    kept = [(t, label) for t, label in cleaned if label not in left_out]
    if len(counts) - len(left_out) < 2:
        raise InvalidInput(f"training needs at least two categories with {MIN_EXAMPLES} or more non-empty texts "
                           f"each; got {dict(counts.most_common()) or 'none'}", field="labels")
    pipeline = _pipeline(settings)
    # One BLAS thread: the calibration's many small fits (one per class and fold) ran 5–8 times slower
    # with a thread pool per core, most of all on a busy machine.
    with threadpool_limits(limits=1):
        pipeline.fit([t for t, _ in kept], [label for _, label in kept])
    return CategoryModel(pipeline, settings=settings, examples=dict(sorted(Counter(lb for _, lb in kept).items())),
                         left_out=left_out, sklearn_version=sklearn.__version__)


@dataclass(frozen=True)
class ClassScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Evaluation:
    """Figures over held-out predictions. ``macro_f1`` averages the classes that occur among the
    expected labels; ``confusion[i][j]`` counts texts of ``labels[i]`` suggested as ``labels[j]``."""

    accuracy: float
    top_k_accuracy: float
    macro_f1: float
    per_class: dict[str, ClassScores]
    labels: list[str]
    confusion: list[list[int]]
    examples: int
    folds: int | None = None
    seed: int | None = None
    unscored: dict[str, int] = field(default_factory=dict)
    settings: ModelSettings | None = None

    def as_dict(self) -> dict:
        figures = asdict(self)
        for name in ("accuracy", "top_k_accuracy", "macro_f1"):
            figures[name] = round(figures[name], 4)
        figures["top_k"] = TOP_K
        figures["per_class"] = {label: {name: round(value, 4) if isinstance(value, float) else value
                                        for name, value in scores.items()}
                                for label, scores in figures["per_class"].items()}
        return figures


def score_predictions(expected: Sequence[str], ranked: Sequence[Sequence[str]]) -> Evaluation:
    """Accuracy, top-``TOP_K`` accuracy, macro-F1, per-class figures and the confusion matrix of
    ranked predictions (best first) against the expected labels."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    if not expected or len(expected) != len(ranked) or not all(ranked):
        raise InvalidInput("scoring needs one non-empty ranking per expected label", field="ranked")
    predicted = [r[0] for r in ranked]
    scored = sorted(set(expected))
    labels = sorted(set(expected) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(expected, predicted, labels=scored,
                                                                     zero_division=0)
    per_class = {label: ClassScores(float(p), float(r), float(f), int(s))
                 for label, p, r, f, s in zip(scored, precision, recall, f1, support, strict=True)}
    hits = sum(e == p for e, p in zip(expected, predicted, strict=True))
    top_hits = sum(e in r[:TOP_K] for e, r in zip(expected, ranked, strict=True))
    return Evaluation(accuracy=hits / len(expected), top_k_accuracy=top_hits / len(expected),
                      macro_f1=float(np.mean(f1)), per_class=per_class, labels=labels,
                      confusion=confusion_matrix(expected, predicted, labels=labels).tolist(),
                      examples=len(expected))


def evaluate(texts: Iterable[str], labels: Iterable[str], *, folds: int = 5, seed: int = 0,
             settings: ModelSettings | None = None, on_fold: Callable[[int], None] | None = None) -> Evaluation:
    """Stratified ``folds``-fold cross-validation: each text is suggested by a model that never saw
    it. Empty texts are ignored, as in ``train``; classes with fewer examples than folds are trained
    on in every fold and not scored."""
    from sklearn.model_selection import StratifiedKFold

    settings = settings or ModelSettings()
    texts, labels = _checked(texts, labels)
    kept = [i for i, text in enumerate(texts) if normalize(text)]
    texts, labels = [texts[i] for i in kept], [labels[i] for i in kept]
    if folds < 2:
        raise InvalidInput("cross-validation needs at least 2 folds", field="folds")
    counts = Counter(labels)
    unscored = {label: n for label, n in sorted(counts.items()) if n < folds}
    scored_rows = [i for i, label in enumerate(labels) if label not in unscored]
    always_trained = [i for i, label in enumerate(labels) if label in unscored]
    if len(counts) - len(unscored) < 2:
        raise InvalidInput(f"{folds}-fold cross-validation needs at least two categories with {folds} or more "
                           f"examples each; got {dict(counts.most_common())}", field="folds")
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    expected: list[str] = []
    ranked: list[list[str]] = []
    for number, (train_at, test_at) in enumerate(splitter.split(scored_rows, [labels[i] for i in scored_rows]), 1):
        training = [scored_rows[p] for p in train_at] + always_trained
        model = train([texts[i] for i in training], [labels[i] for i in training], settings=settings)
        testing = [scored_rows[p] for p in test_at]
        for row, suggestions in zip(testing, model.suggest_many([texts[i] for i in testing], k=TOP_K), strict=True):
            expected.append(labels[row])
            ranked.append([s.label for s in suggestions])
        if on_fold:
            on_fold(number)
    return replace(score_predictions(expected, ranked), folds=folds, seed=seed, unscored=unscored,
                   settings=settings)


def save(model: CategoryModel, path: Path) -> None:
    """Write ``model`` to ``path`` (atomically): a magic line, a JSON header, then the pickled pipeline."""
    header = {"format": FORMAT_VERSION, "sklearn": model.sklearn_version, "settings": asdict(model.settings),
              "labels": model.labels, "examples": model.examples, "left_out": model.left_out,
              "source": model.source, "created_at": datetime.now(UTC).isoformat(timespec="seconds")}
    partial = path.with_name(path.name + ".partial")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with partial.open("wb") as out:
            out.write(MAGIC + json.dumps(header, ensure_ascii=False).encode() + b"\n")
            pickle.dump(model.pipeline, out, protocol=pickle.HIGHEST_PROTOCOL)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def read_header(data: bytes, *, name: str = "model file") -> tuple[dict, int]:
    """The header of a model file and the offset of its payload; InvalidFile when it is not one."""
    if not data.startswith(MAGIC):
        raise InvalidFile(f"{name} is not a CityOps category model", field="model")
    end = data.find(b"\n", len(MAGIC))
    try:
        header = json.loads(data[len(MAGIC):end]) if end > 0 else None
    except ValueError:
        header = None
    if not isinstance(header, dict):
        raise InvalidFile(f"{name} has a damaged header", field="model")
    found = header.get("format")
    if type(found) is not int or found != FORMAT_VERSION:
        raise InvalidFile(f"{name} has model format {found!r}, but this CityOps reads format {FORMAT_VERSION}; "
                          "train the model again with `cityops classifier train`", field="model",
                          extra={"format": found, "supported_format": FORMAT_VERSION})
    return header, end + 1


def load(path: Path) -> CategoryModel:
    """A model written by ``save``; refuses other files and other format versions."""
    import sklearn

    data = path.read_bytes()
    header, offset = read_header(data, name=str(path))
    try:
        pipeline = pickle.loads(data[offset:])  # noqa: S301  (our own file, checked by its header)
    except Exception as exc:  # noqa: BLE001  (any unpickling failure means an unusable file)
        raise InvalidFile(f"{path} cannot be read ({type(exc).__name__}); it was written with scikit-learn "
                          f"{header.get('sklearn')}, this is {sklearn.__version__}", field="model") from exc
    if header.get("sklearn") != sklearn.__version__:
        warnings.warn(f"{path} was trained with scikit-learn {header.get('sklearn')}, this is "
                      f"{sklearn.__version__}; retrain it if suggestions look wrong", stacklevel=2)
    return CategoryModel(pipeline, settings=ModelSettings(**header["settings"]), examples=header["examples"],
                         left_out=header["left_out"], sklearn_version=header["sklearn"],
                         source=header.get("source") or {})


def header_of(path: Path) -> dict:
    """The header of the model file at ``path``, without reading its payload or importing scikit-learn;
    InvalidFile when the file is not a model (or is damaged before its payload), FileNotFoundError
    when there is no file."""
    with path.open("rb") as handle:
        head = handle.read(len(MAGIC))
        line = handle.readline(1 << 20) if head == MAGIC else b""
    return read_header(head + line, name=str(path))[0]


@dataclass(frozen=True)
class LabelledRows:
    texts: list[str]
    labels: list[str]
    skipped: list[tuple[int, str]]  # (row number, counting the header as row 1; reason)


def read_labelled_csv(data: bytes | str, *, text_fields: Sequence[str], label_field: str) -> LabelledRows:
    """(text, label) pairs from a CSV in UTF-8 (with or without BOM) or GB18030. Several text fields
    (a subject and a body) are joined by a line break. Rows without text or label are skipped and
    listed; a missing column, an empty file or a file with no usable row is an InvalidFile."""
    reader = csv.DictReader(io.StringIO(decode_text(data), newline=""))
    try:
        header = [name.strip() for name in reader.fieldnames or []]
        if not any(header):
            raise InvalidFile("the file is empty; it needs a header row and labelled rows", field="header")
        reader.fieldnames = header
        for name in (*text_fields, label_field):
            if name not in header:
                raise InvalidFile(f"no column {name!r}; the file's columns are: {', '.join(header)}", field=name)
        texts, labels, skipped = [], [], []
        for number, row in enumerate(reader, start=2):
            text = "\n".join(part for part in ((row.get(f) or "").strip() for f in text_fields) if part)
            label = (row.get(label_field) or "").strip()
            if not label or not normalize(text):
                skipped.append((number, "no label" if not label else "no text"))
                continue
            texts.append(text)
            labels.append(label)
    except csv.Error as exc:
        raise InvalidFile(f"the CSV cannot be parsed near line {reader.line_num}: {exc}", field="file") from exc
    if not texts:
        raise InvalidFile("the file has no row with both a text and a label"
                          + (f" ({len(skipped)} row(s) skipped)" if skipped else ""), field="file")
    return LabelledRows(texts, labels, skipped)
