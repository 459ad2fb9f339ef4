"""Chinese post-processing: CJK joining and number normalisation (known answers)."""

from __future__ import annotations

import pytest

from transcription.chinese import digits, join_cjk, normalize_numbers, postprocess


@pytest.mark.parametrize(("vosk", "joined"), [
    ("东 四 十 条", "东四十条"),
    ("我 家 的 wifi 坏 了", "我家的 wifi 坏了"),
    ("hello world", "hello world"),
    ("안녕 하세요", "안녕 하세요"),  # Hangul keeps its word spaces
    ("  路灯   不 亮 ， 请 修  ", "路灯不亮，请修"),
    ("", ""),
])
def test_join_cjk(vosk: str, joined: str) -> None:
    assert join_cjk(vosk) == joined


@pytest.mark.parametrize(("spoken", "normal"), [
    ("东四十条三十五号", "东四十条35号"),  # the hutong's name stays, the house number converts
    ("电话幺三八零零一三八零零零", "电话13800138000"),
    ("一三九一二三四五六七八", "13912345678"),
    ("朝阳区三号楼二单元幺零二室", "朝阳区3号楼2单元102室"),
    ("住在十二层", "住在12层"),
    ("二零二四年", "2024年"),
    ("一个人", "一个人"),  # a lone 一 is a word, not a number
    ("三三两两", "三三两两"),  # under four digits and no unit
    ("三里屯", "三里屯"),
    ("十十号", "十十号"),  # not a number: left as spoken
    ("一百零八号", "108号"),
])
def test_normalize_numbers(spoken: str, normal: str) -> None:
    assert normalize_numbers(spoken) == normal


def test_digits() -> None:
    assert digits("幺两三洞") == "1230"


def test_postprocess_vosk_output() -> None:
    assert postprocess("我 住 东 四 十 条 三 十 五 号 电话 幺 三 八 零 零 一 三 八 零 零 零") == (
        "我住东四十条35号电话13800138000"
    )
