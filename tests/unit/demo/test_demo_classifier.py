"""The demo's category-suggestion model: its shipped phrases cover the demo's category tree, its
suggestions put the right category in the top three for a citizen's words, and `ensure` trains only
when the data directory lacks a current model."""

from __future__ import annotations

import csv
import io
import time
from dataclasses import replace
from importlib import resources
from pathlib import Path

import pytest

from cityops.classify import model as classifier
from cityops.config import DEMO_CLASSIFIER_MODEL, Settings
from cityops.demo import classifier as demo_classifier
from cityops.errors import InvalidFile
from tests.conftest import SHARED_DATA, needs_shared_data

HELDOUT = Path(__file__).with_name("heldout_messages.txt")
MESSAGE_FILES = {"labeled": "labeled_train.csv", "fujian3": "fujian3_full_hotspot_messages.csv",
                 "fujian4": "fujian4_full_messages_with_replies.csv"}
MANHOLES = {"C0101", "C0102", "C0103", "C0104", "C0105", "C0106", "C0107", "C0108", "C0109", "C0110", "C0111",
            "C0112", "C0114"}

# Per top-level category of the demo's tree: a citizen's words (not the shipped phrases) and the
# categories that fit them.
REALISTIC: dict[str, list[tuple[str, set[str]]]] = {
    "C01 公用设施": [
        ("路灯不亮", {"C0118"}),
        ("我们小区南门外的路灯已经一个星期不亮了", {"C0118"}),
        ("井盖丢失", MANHOLES),
        ("人民路上有个井盖丢失了，晚上很容易掉下去", MANHOLES),
        ("路口的消防栓被撞断了一直在喷水", {"C0113"}),
        ("公园里的健身器材断了一根，小孩玩很危险", {"C0126"}),
        ("路边配电箱门被撬开，里面电线都露在外面", {"C0116"}),
    ],
    "C02 道路交通": [
        ("十字路口的红绿灯坏了，车辆乱开", {"C0210", "C0214"}),
        ("公交车站的候车亭顶棚破了个洞，下雨淋湿", {"C0203"}),
        ("马路中间的隔离护栏被车撞倒了一大段", {"C0211"}),
        ("路口的限速标志牌被撞歪了看不清", {"C0209"}),
    ],
    "C03 市容环境": [
        ("公园的公厕太臭了，也没人打扫", {"C0301"}),
        ("路边的垃圾桶破了一个大洞", {"C0305"}),
        ("沿街店铺的招牌松了，风一吹晃得厉害", {"C0307"}),
    ],
    "C04 园林绿化": [
        ("昨晚大风把路边一棵大树刮倒了，挡住半条路", {"C0402"}),
        ("广场的喷泉坏了好久，池子里都是脏水", {"C0410"}),
        ("小区外的绿化带被人挖了种菜", {"C0405"}),
    ],
    "C05–C07 房屋土地、其他设施、扩展部件": [
        ("楼里电梯又坏了，把老人困在里面半小时", {"C0707"}),
        ("河边的栏杆断了一截，孩子经过很危险", {"C0604"}),
        ("旁边工地的围挡被风吹倒了", {"C0602"}),
    ],
    "E01 市容环境": [
        ("垃圾堆放", {"E0102"}),
        ("小区门口垃圾堆放好几天了，臭气熏天", {"E0102"}),
        ("一楼住户在公共绿地上违章搭建了一个房子", {"E0101"}),
        ("河面上漂满了垃圾和塑料瓶", {"E0105"}),
        ("一下大雨这个路段就严重积水，车都过不去", {"E0111"}),
        ("有辆车停在路边两年没动过了，轮胎都瘪了", {"E0107"}),
    ],
    "E02 宣传广告": [
        ("楼道墙上贴满了开锁、疏通管道的小广告", {"E0201", "E0602"}),
        ("商场门口有人一直发传单", {"E0204"}),
        ("店门口放了个大广告牌挡住了人行道", {"E0203"}),
    ],
    "E03 施工管理": [
        ("旁边工地每天晚上十二点还在施工，噪音大得睡不着", {"E0301"}),
        ("工地扬尘太大，窗户都不敢开", {"E0302"}),
        ("家门口的路面坑坑洼洼，电动车骑过去差点摔倒", {"E0306"}),
        ("渣土车一路撒泥，马路被弄得很脏", {"E0304"}),
    ],
    "E04 突发事件": [
        ("马路中间突然塌了一个大坑", {"E0401"}),
        ("小区里闻到很重的煤气味，怀疑漏气了", {"E0403"}),
        ("下水道堵塞了，污水从井里漫出来", {"E0404"}),
        ("路边自来水管爆了，水流得到处都是", {"E0402"}),
    ],
    "E05 街面秩序": [
        ("噪音扰民", {"E0508", "E0301"}),
        ("占道经营", {"E0501", "E0504"}),
        ("地铁口好多小贩摆摊占道经营", {"E0501", "E0504"}),
        ("楼下的烧烤店半夜还在露天烧烤，烟很大", {"E0510"}),
        ("楼下商铺的音响声音太大，噪音扰民", {"E0508"}),
        ("人行道上停满了汽车，行人只能走马路", {"E0505"}),
        ("共享单车乱停乱放，把盲道都堵了", {"E0506"}),
    ],
    "E06 扩展事件": [
        ("楼上有人从窗户私拉电线给电动车充电", {"E0601"}),
        ("沿街居民在行道树之间拉绳子晾衣服", {"E0603", "E0109"}),
        ("新刷的墙被人乱涂乱画", {"E0602"}),
    ],
}


@pytest.fixture(scope="module")
def trained() -> classifier.CategoryModel:
    return demo_classifier.train()


def seed_tree() -> dict[str, dict[str, str]]:
    data = resources.files("cityops.categories").joinpath("data", "city_management.csv").read_text(encoding="utf-8")
    return {row["code"]: row for row in csv.DictReader(data.splitlines())}


def test_the_phrases_cover_every_leaf_of_the_demo_tree_under_its_own_name() -> None:
    tree = seed_tree()
    leaves = {code for code, row in tree.items() if row["parent_code"]}
    phrases = demo_classifier.read_phrases()
    assert {c.code for c in phrases} == leaves
    for category in phrases:
        assert category.name == tree[category.code]["name"], category.code
        assert len(category.phrases) >= classifier.MIN_EXAMPLES, category.code
        assert len(set(category.phrases)) == len(category.phrases), category.code


def test_malformed_or_repeated_phrase_lines_are_refused_with_their_line() -> None:
    assert [c.phrases for c in demo_classifier.read_phrases("# note\n\nE0102 暴露垃圾 = 垃圾 | 垃圾堆 |\n")] == [
        ("垃圾", "垃圾堆")]
    with pytest.raises(InvalidFile, match="line 2: expected"):
        demo_classifier.read_phrases("E0102 暴露垃圾 = 垃圾\nE0103 积存垃圾渣土 渣土\n")
    with pytest.raises(InvalidFile, match="line 2: expected"):
        demo_classifier.read_phrases("E0102 暴露垃圾 = 垃圾\nE0103 = 渣土\n")
    with pytest.raises(InvalidFile, match="line 2: category E0102 appears twice"):
        demo_classifier.read_phrases("E0102 暴露垃圾 = 垃圾\nE0102 暴露垃圾 = 垃圾堆\n")


def test_training_examples_are_the_phrases_as_written_and_in_neutral_context() -> None:
    categories = demo_classifier.read_phrases("E0102 暴露垃圾 = 垃圾没人清理 | 垃圾堆放\nC0118 路灯 = 路灯不亮\n")
    texts, labels = demo_classifier.training_examples(categories)
    per_phrase = 1 + demo_classifier.VARIANTS
    assert len(texts) == len(labels) == 3 * per_phrase
    assert labels == ["E0102"] * 2 * per_phrase + ["C0118"] * per_phrase
    assert texts[0] == "垃圾没人清理" and all("垃圾没人清理" in t for t in texts[:per_phrase])
    assert demo_classifier.training_examples(categories) == (texts, labels)  # the same every time


def test_the_model_knows_every_category_and_says_what_it_was_trained_on(trained: classifier.CategoryModel) -> None:
    phrases = demo_classifier.read_phrases()
    assert sorted(trained.labels) == sorted(c.code for c in phrases)
    assert trained.left_out == {}
    assert trained.source["kind"] == "demo phrases"
    assert trained.source["fingerprint"] == demo_classifier.fingerprint()
    assert trained.source["phrases"] == sum(len(c.phrases) for c in phrases)


@pytest.mark.parametrize("group", list(REALISTIC))
def test_a_citizens_words_get_the_right_category_in_the_top_three(trained: classifier.CategoryModel,
                                                                  group: str) -> None:
    for text, fitting in REALISTIC[group]:
        suggested = [s.label for s in trained.suggest(text)]
        assert fitting & set(suggested), (text, suggested)


def test_the_realistic_texts_mostly_get_the_right_category_first(trained: classifier.CategoryModel) -> None:
    items = [item for group in REALISTIC.values() for item in group]
    first = sum(trained.suggest(text)[0].label in fitting for text, fitting in items)
    assert first / len(items) >= 0.9, f"{first} of {len(items)} first"


def heldout() -> list[tuple[str, set[str]]]:
    texts = {}
    for key, name in MESSAGE_FILES.items():
        with (SHARED_DATA / "complaints_zh" / name).open(encoding="utf-8-sig", newline="") as handle:
            texts.update({(key, row["留言编号"]): row["留言主题"] for row in csv.DictReader(handle)})
    items = []
    for line in HELDOUT.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, number, *codes = line.split()
            items.append((texts[key, number], set(codes)))
    return items


@needs_shared_data
def test_real_citizen_messages_held_out_get_the_right_category_in_the_top_three(
        trained: classifier.CategoryModel) -> None:
    """144 real subjects, hand-labelled with demo categories and never trained on: measured 85% first
    and 98% in the top three when the phrases were frozen."""
    items = heldout()
    assert len(items) == 144
    suggested = trained.suggest_many([text for text, _ in items])
    first = sum(s[0].label in fitting for s, (_, fitting) in zip(suggested, items, strict=True))
    top3 = sum(bool(fitting & {x.label for x in s}) for s, (_, fitting) in zip(suggested, items, strict=True))
    assert first / len(items) >= 0.8 and top3 / len(items) >= 0.95, f"first {first}, top 3 {top3} of {len(items)}"


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch, trained: classifier.CategoryModel) -> list[float]:
    """`ensure` with the module's model instead of training anew; the list counts trainings."""
    calls: list[float] = []

    def train() -> classifier.CategoryModel:
        calls.append(time.perf_counter())
        return trained

    monkeypatch.setattr(demo_classifier, "train", train)
    return calls


def test_ensure_writes_the_model_where_the_settings_find_it_and_keeps_a_current_one(tmp_path: Path,
                                                                                   quick: list[float]) -> None:
    assert Settings(data_dir=tmp_path).classifier_model is None
    made = demo_classifier.ensure(tmp_path)
    assert made.trained and made.path == tmp_path / DEMO_CLASSIFIER_MODEL and made.categories == 119
    assert Settings(data_dir=tmp_path).classifier_model == made.path
    assert classifier.load(made.path).suggest("路灯不亮")[0].label == "C0118"
    again = demo_classifier.ensure(tmp_path)
    assert not again.trained and again.categories == 119 and again.examples == made.examples
    assert len(quick) == 1


def test_ensure_replaces_a_damaged_model_or_one_of_other_phrases(tmp_path: Path, quick: list[float],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = demo_classifier.model_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a model")
    assert demo_classifier.ensure(tmp_path).trained
    monkeypatch.setattr(demo_classifier, "fingerprint", lambda text=None: "demo-phrases/0/other")
    assert demo_classifier.ensure(tmp_path).trained
    assert len(quick) == 2


def test_the_real_training_is_quick(tmp_path: Path) -> None:
    made = demo_classifier.ensure(tmp_path, force=True)
    assert made.trained and made.examples == len(demo_classifier.training_examples(
        demo_classifier.read_phrases())[0])
    # 3-5 s on a busy 2-core machine (scikit-learn's import included)
    assert made.seconds < 20


def test_cityops_demo_says_what_it_trained_and_which_model_the_server_will_use(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    from cityops.demo import cli

    out = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=out, width=400))
    path = tmp_path / DEMO_CLASSIFIER_MODEL
    made = demo_classifier.DemoModel(path=path, trained=True, categories=119, examples=1776, seconds=4.2)
    cli.print_model(made, Settings(data_dir=tmp_path))
    assert "trained the category-suggestion model in 4.2 s (119 categories, 1776 examples" in out.getvalue()
    assert "CITYOPS_CLASSIFIER_MODEL" not in out.getvalue()
    cli.print_model(replace(made, trained=False), Settings(data_dir=tmp_path, classifier_model=tmp_path / "city.model"))
    assert f"up to date: {path}" in out.getvalue()
    assert f"CITYOPS_CLASSIFIER_MODEL is set to {tmp_path / 'city.model'}: the server suggests categories with that " \
           "model, not the demo's" in out.getvalue()
