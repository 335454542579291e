"""Saving and loading a model: a round trip keeps its suggestions; other files and formats are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sklearn

from cityops.classify import model
from cityops.classify.model import ModelSettings
from cityops.errors import InvalidFile
from tests.unit.classify.synthetic import synthetic_messages

PROBES = ["路灯坏了", "污水横流", "学费太贵", "没有见过的词语"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[model.CategoryModel, Path]:
    trained = model.train(*synthetic_messages(), settings=ModelSettings(analyzer="char_wb", ngram_max=3, c=2.0))
    path = tmp_path_factory.mktemp("model") / "categories.model"
    model.save(trained, path)
    return trained, path


def _rewrite_header(source: Path, target: Path, **changes: object) -> Path:
    data = source.read_bytes()
    header, offset = model.read_header(data)
    target.write_bytes(model.MAGIC + json.dumps({**header, **changes}).encode() + b"\n" + data[offset:])
    return target


def test_a_saved_model_loads_with_the_same_suggestions(saved: tuple[model.CategoryModel, Path]) -> None:
    trained, path = saved
    loaded = model.load(path)
    assert loaded.suggest_many(PROBES) == trained.suggest_many(PROBES)
    assert loaded.labels == trained.labels and loaded.examples == trained.examples
    assert loaded.settings == ModelSettings(analyzer="char_wb", ngram_max=3, c=2.0)
    assert loaded.sklearn_version == sklearn.__version__ and loaded.left_out == {}
    assert not path.with_name(path.name + ".partial").exists()


def test_the_header_records_format_and_library_versions(saved: tuple[model.CategoryModel, Path]) -> None:
    header, _ = model.read_header(saved[1].read_bytes())
    assert header["format"] == model.FORMAT_VERSION and header["sklearn"] == sklearn.__version__
    assert header["labels"] == ["城乡建设", "教育文体", "环境保护"]


@pytest.mark.parametrize("found", [model.FORMAT_VERSION + 1, 0, "1", True, None])
def test_another_format_version_is_refused(saved: tuple[model.CategoryModel, Path], tmp_path: Path,
                                           found: object) -> None:
    path = _rewrite_header(saved[1], tmp_path / "other.model", format=found)
    with pytest.raises(InvalidFile, match=f"reads format {model.FORMAT_VERSION}; train the model again") as caught:
        model.load(path)
    assert caught.value.field == "model" and caught.value.extra["supported_format"] == model.FORMAT_VERSION


def test_another_scikit_learn_version_loads_with_a_warning(saved: tuple[model.CategoryModel, Path],
                                                           tmp_path: Path) -> None:
    path = _rewrite_header(saved[1], tmp_path / "old.model", sklearn="0.1")
    with pytest.warns(UserWarning, match="trained with scikit-learn 0.1"):
        loaded = model.load(path)
    assert loaded.suggest_many(PROBES) == saved[0].suggest_many(PROBES)


@pytest.mark.parametrize(("content", "message"), [
    (b"code,name\n1,x\n", "is not a CityOps category model"),
    (b"", "is not a CityOps category model"),
    (model.MAGIC + b"{not json\n", "damaged header"),
    (model.MAGIC + b"[1, 2]\n", "damaged header"),
    (model.MAGIC + b'{"format": 1}', "damaged header"),
])
def test_files_that_are_not_models_are_refused(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "x.model"
    path.write_bytes(content)
    with pytest.raises(InvalidFile, match=message):
        model.load(path)


def test_a_truncated_payload_is_refused(saved: tuple[model.CategoryModel, Path], tmp_path: Path) -> None:
    data = saved[1].read_bytes()
    path = tmp_path / "cut.model"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InvalidFile, match="cannot be read"):
        model.load(path)
