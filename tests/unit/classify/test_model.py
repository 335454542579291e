"""Training, suggesting and cross-validating the category model on a small synthetic set."""

from __future__ import annotations

import pytest

from cityops.classify import model
from cityops.classify.model import ClassScores, ModelSettings
from cityops.errors import InvalidInput
from tests.unit.classify.synthetic import synthetic_messages


@pytest.fixture(scope="module")
def trained() -> model.CategoryModel:
    return model.train(*synthetic_messages())


def test_suggestions_rank_the_right_category_first_with_a_confidence(trained: model.CategoryModel) -> None:
    assert trained.labels == ["城乡建设", "教育文体", "环境保护"]
    cases = {"B9区新村的路灯坏了": "城乡建设", "新开的工厂往河里排放污水": "环境保护",
             "学校老师组织有偿补课": "教育文体"}
    for text, label in cases.items():
        suggestions = trained.suggest(text, k=3)
        assert [s.label for s in suggestions][0] == label, (text, suggestions)
        assert len(suggestions) == 3 and sorted(s.label for s in suggestions) == trained.labels
        scores = [s.score for s in suggestions]
        assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
        assert sum(scores) == pytest.approx(1, abs=1e-3)
        assert scores[0] > 0.5


def test_k_limits_the_suggestions_and_empty_text_gets_none(trained: model.CategoryModel) -> None:
    assert len(trained.suggest("路灯坏了", k=1)) == 1
    assert len(trained.suggest("路灯坏了", k=10)) == 3
    assert trained.suggest(" \u3000&nbsp;") == []
    assert [len(r) for r in trained.suggest_many(["路灯坏了", "", "污水"], k=2)] == [2, 0, 2]
    with pytest.raises(InvalidInput, match="k must be"):
        trained.suggest("路灯坏了", k=0)


def test_full_width_and_half_width_text_get_the_same_suggestions(trained: model.CategoryModel) -> None:
    assert trained.suggest("Ａ１区路灯坏了，请处理") == trained.suggest("A1区路灯坏了,请处理")


def test_training_is_deterministic() -> None:
    texts, labels = synthetic_messages()
    probe = ["路灯和井盖", "噪音和学费", "没有见过的词语"]
    assert model.train(texts, labels).suggest_many(probe) == model.train(texts, labels).suggest_many(probe)


def test_rare_categories_are_left_out_and_reported() -> None:
    texts, labels = synthetic_messages()
    model_ = model.train([*texts, "医院排队挂号太难", "医院收费太贵"], [*labels, "卫生计生", "卫生计生"])
    assert model_.left_out == {"卫生计生": 2}
    assert "卫生计生" not in model_.labels and model_.examples == {"城乡建设": 15, "教育文体": 15, "环境保护": 15}


@pytest.mark.parametrize(("texts", "labels", "message"), [
    (["路灯坏了", "污水"], ["城乡建设"], "2 texts but 1 labels"),
    (["路灯坏了"] * 3, ["城乡建设", " ", "城乡建设"], "without a label, the first at index 1"),
    (["路灯坏了"] * 5, ["城乡建设"] * 5, "at least two categories"),
    (["路灯坏了"] * 3 + ["", "", " "], ["城乡建设"] * 3 + ["环境保护"] * 3, "at least two categories"),
])
def test_unusable_training_data_is_refused(texts: list[str], labels: list[str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        model.train(texts, labels)


@pytest.mark.parametrize(("settings", "field"), [
    ({"analyzer": "word"}, "analyzer"), ({"ngram_min": 3, "ngram_max": 2}, "ngram_max"),
    ({"ngram_min": 0}, "ngram_max"), ({"c": 0}, "c"),
])
def test_bad_settings_are_refused(settings: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        ModelSettings(**settings)
    assert caught.value.field == field


def test_scores_of_a_known_case() -> None:
    expected = ["a", "a", "a", "b", "b", "c"]
    ranked = [["a", "b"], ["a", "c"], ["b", "a"], ["b", "a"], ["a", "c"], ["c", "a", "b"]]
    scores = model.score_predictions(expected, ranked)
    assert scores.accuracy == pytest.approx(4 / 6)
    assert scores.top_k_accuracy == pytest.approx(5 / 6)
    assert scores.per_class == {
        "a": ClassScores(precision=pytest.approx(2 / 3), recall=pytest.approx(2 / 3), f1=pytest.approx(2 / 3),
                         support=3),
        "b": ClassScores(precision=0.5, recall=0.5, f1=0.5, support=2),
        "c": ClassScores(precision=1.0, recall=1.0, f1=1.0, support=1),
    }
    assert scores.macro_f1 == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    assert scores.labels == ["a", "b", "c"]
    assert scores.confusion == [[2, 1, 0], [1, 1, 0], [0, 0, 1]]
    assert scores.examples == 6


def test_a_predicted_label_never_expected_counts_against_precision_only() -> None:
    scores = model.score_predictions(["a", "a"], [["a"], ["z"]])
    assert scores.labels == ["a", "z"] and list(scores.per_class) == ["a"]
    assert scores.per_class["a"] == ClassScores(precision=1.0, recall=0.5, f1=pytest.approx(2 / 3), support=2)
    assert scores.macro_f1 == pytest.approx(2 / 3)
    assert scores.confusion == [[1, 1], [0, 0]]


def test_scoring_nothing_is_refused() -> None:
    with pytest.raises(InvalidInput):
        model.score_predictions([], [])


def test_cross_validation_scores_every_text_once() -> None:
    texts, labels = synthetic_messages()
    folds_done: list[int] = []
    result = model.evaluate(texts, labels, folds=5, seed=1, on_fold=folds_done.append)
    assert folds_done == [1, 2, 3, 4, 5]
    assert result.examples == 45 and result.folds == 5 and result.seed == 1 and result.unscored == {}
    assert sum(map(sum, result.confusion)) == 45
    supports = {label: s.support for label, s in result.per_class.items()}
    assert supports == {"城乡建设": 15, "教育文体": 15, "环境保护": 15}
    assert result.accuracy >= 0.8 and result.top_k_accuracy == 1.0
    assert model.evaluate(texts, labels, folds=5, seed=1) == result


def test_a_category_with_fewer_examples_than_folds_is_trained_on_but_not_scored() -> None:
    texts, labels = synthetic_messages()
    rare = ["医院排队挂号太难", "医院收费太贵", "医院看病难", "医院药价太高"]
    result = model.evaluate([*texts, *rare], [*labels, *["卫生计生"] * 4], folds=5)
    assert result.unscored == {"卫生计生": 4}
    assert result.examples == 45 and "卫生计生" not in result.per_class


def test_cross_validation_needs_two_folds_and_two_scorable_categories() -> None:
    texts, labels = synthetic_messages()
    with pytest.raises(InvalidInput, match="at least 2 folds"):
        model.evaluate(texts, labels, folds=1)
    with pytest.raises(InvalidInput, match="two categories with 20 or more"):
        model.evaluate(texts, labels, folds=20)


def test_evaluation_figures_serialise_rounded() -> None:
    figures = model.score_predictions(["a", "b", "b"], [["a"], ["b"], ["a"]]).as_dict()
    assert figures["accuracy"] == 0.6667 and figures["top_k"] == 3
    assert figures["per_class"]["a"] == {"precision": 0.5, "recall": 1.0, "f1": 0.6667, "support": 1}
