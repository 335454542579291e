"""`cityops classifier …`: evaluate, train and try the category-suggestion model on a labelled CSV.

Each command prints its figures for people (rich) and, as its last line on stdout, one JSON object
for scripts. Refusals go to stderr with exit code 1.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cityops.cases import service as cases_service
from cityops.classify import model
from cityops.db import unit_of_work
from cityops.errors import CityOpsError

app = typer.Typer(help="Category suggestions (分类推荐): a text classifier trained on labelled messages.",
                  no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)
DEFAULTS = model.ModelSettings()


class Analyzer(StrEnum):
    char = "char"
    char_wb = "char_wb"


CsvFile = Annotated[Path, typer.Option("--csv", exists=True, dir_okay=False,
                                       help="labelled CSV (UTF-8, UTF-8 with BOM or GB18030)")]
TextField = Annotated[str, typer.Option(help="column with the message text (e.g. its subject)")]
TextField2 = Annotated[str | None, typer.Option(help="a second text column joined to the first (e.g. the body)")]
LabelField = Annotated[str, typer.Option(help="column with the category")]
AnalyzerOption = Annotated[Analyzer, typer.Option(help="n-grams over the whole text (char) or within words "
                                                       "(char_wb)")]
NgramMin = Annotated[int, typer.Option(min=1, help="shortest character n-gram")]
NgramMax = Annotated[int, typer.Option(min=1, help="longest character n-gram")]
COption = Annotated[float, typer.Option("--c", min=0.0, help="inverse regularisation strength of the SVM")]


def _refuse(exc: CityOpsError) -> typer.Exit:
    where = f" ({exc.field})" if exc.field else ""
    err_console.print(f"[red]refused[/red]: {exc.detail}{where}", soft_wrap=True)
    return typer.Exit(1)


def _read(csv_file: Path, text_field: str, text_field2: str | None, label_field: str) -> model.LabelledRows:
    fields = [text_field] + ([text_field2] if text_field2 else [])
    rows = model.read_labelled_csv(csv_file.read_bytes(), text_fields=fields, label_field=label_field)
    if rows.skipped:
        shown = ", ".join(f"row {number} ({reason})" for number, reason in rows.skipped[:10])
        more = f" and {len(rows.skipped) - 10} more" if len(rows.skipped) > 10 else ""
        err_console.print(f"[yellow]skipped {len(rows.skipped)} row(s)[/yellow]: {shown}{more}", soft_wrap=True)
    return rows


def _warn_classes(counts: dict[str, int], what: str) -> None:
    if counts:
        listed = ", ".join(f"{label} ({n})" for label, n in counts.items())
        err_console.print(f"[yellow]warning[/yellow]: {len(counts)} categor{'y' if len(counts) == 1 else 'ies'} "
                          f"with too few examples {what}: {listed}", soft_wrap=True)


def _emit(figures: dict) -> None:
    typer.echo(json.dumps(figures, ensure_ascii=False))


@app.command()
def evaluate(
    csv_file: CsvFile, text_field: TextField, label_field: LabelField, text_field2: TextField2 = None,
    folds: Annotated[int, typer.Option(min=2, help="folds of stratified cross-validation")] = 5,
    seed: Annotated[int, typer.Option(help="seed of the fold shuffle")] = 0,
    analyzer: AnalyzerOption = Analyzer(DEFAULTS.analyzer), ngram_min: NgramMin = DEFAULTS.ngram_min,
    ngram_max: NgramMax = DEFAULTS.ngram_max, c: COption = DEFAULTS.c,
) -> None:
    """Cross-validate the model on a labelled CSV: accuracy, macro-F1 and per-class figures."""
    try:
        settings = model.ModelSettings(analyzer=analyzer.value, ngram_min=ngram_min, ngram_max=ngram_max, c=c)
        rows = _read(csv_file, text_field, text_field2, label_field)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err_console, transient=True) as progress:
            task = progress.add_task(f"{folds}-fold cross-validation", total=folds)
            result = model.evaluate(rows.texts, rows.labels, folds=folds, seed=seed, settings=settings,
                                    on_fold=lambda _: progress.advance(task))
    except CityOpsError as exc:
        raise _refuse(exc) from exc
    _warn_classes(result.unscored, f"to be scored in {folds} folds (trained on, not scored)")
    console.print(f"{result.examples} messages, {len(result.per_class)} categories, {folds}-fold stratified "
                  f"cross-validation (seed {seed})")
    console.print(f"accuracy [bold]{result.accuracy:.3f}[/bold]   macro-F1 [bold]{result.macro_f1:.3f}[/bold]   "
                  f"top-{model.TOP_K} accuracy {result.top_k_accuracy:.3f}")
    table = Table("category", "precision", "recall", "F1", "support", title="per category")
    for label, scores in sorted(result.per_class.items(), key=lambda item: (-item[1].support, item[0])):
        table.add_row(label, f"{scores.precision:.3f}", f"{scores.recall:.3f}", f"{scores.f1:.3f}",
                      str(scores.support))
    console.print(table)
    _emit({**result.as_dict(), "skipped_rows": len(rows.skipped)})


@app.command()
def train(
    csv_file: CsvFile, text_field: TextField, label_field: LabelField,
    out: Annotated[Path, typer.Option(dir_okay=False, help="model file to write")],
    text_field2: TextField2 = None,
    analyzer: AnalyzerOption = Analyzer(DEFAULTS.analyzer), ngram_min: NgramMin = DEFAULTS.ngram_min,
    ngram_max: NgramMax = DEFAULTS.ngram_max, c: COption = DEFAULTS.c,
) -> None:
    """Train the model on a labelled CSV and write it to a file."""
    try:
        settings = model.ModelSettings(analyzer=analyzer.value, ngram_min=ngram_min, ngram_max=ngram_max, c=c)
        rows = _read(csv_file, text_field, text_field2, label_field)
        trained = model.train(rows.texts, rows.labels, settings=settings)
    except CityOpsError as exc:
        raise _refuse(exc) from exc
    _warn_classes(trained.left_out, f"to learn (fewer than {model.MIN_EXAMPLES}; left out)")
    model.save(trained, out)
    console.print(f"trained on {sum(trained.examples.values())} messages in {len(trained.examples)} categories; "
                  f"wrote {out}")
    _emit({"model": str(out), "format": model.FORMAT_VERSION, "sklearn": trained.sklearn_version,
           "examples": trained.examples, "left_out": trained.left_out, "skipped_rows": len(rows.skipped)})


@app.command("train-from-cases")
def train_from_cases(
    out: Annotated[Path, typer.Option(dir_okay=False, help="model file to write")],
) -> None:
    """Train the model on the platform's own closed cases (text → category code) and write it; point
    CITYOPS_CLASSIFIER_MODEL at the file to suggest categories at intake."""
    with unit_of_work() as session:
        texts, labels = cases_service.training_examples(session)
    try:
        trained = model.train(texts, labels)
    except CityOpsError as exc:
        raise _refuse(exc) from exc
    _warn_classes(trained.left_out, f"to learn (fewer than {model.MIN_EXAMPLES}; left out)")
    model.save(trained, out)
    console.print(f"trained on {sum(trained.examples.values())} closed cases in {len(trained.examples)} "
                  f"categories; wrote {out}")
    _emit({"model": str(out), "examples": trained.examples, "left_out": trained.left_out})


@app.command()
def suggest(
    text: Annotated[str, typer.Argument(help="message text")],
    model_file: Annotated[Path, typer.Option("--model", exists=True, dir_okay=False, help="a trained model file")],
    k: Annotated[int, typer.Option(min=1, help="number of suggestions")] = model.TOP_K,
) -> None:
    """Suggest categories for one message with a trained model."""
    try:
        suggestions = model.load(model_file).suggest(text, k)
    except CityOpsError as exc:
        raise _refuse(exc) from exc
    table = Table("category", "confidence", title="suggestions")
    for suggestion in suggestions:
        table.add_row(suggestion.label, f"{suggestion.score:.3f}")
    console.print(table)
    _emit({"suggestions": [{"label": s.label, "score": s.score} for s in suggestions]})
