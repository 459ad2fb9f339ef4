"""Reviewed YAML with line numbers (router/yamlfile.py): every value's line, the nearest
enclosing line for a value not in the file, bad YAML at its line, validation errors at the line
of the field a reviewer edited."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from router import yamlfile
from router.yamlfile import ConfigError

SAMPLE = """\
# a comment
title: 东城
streets:
  - code: DS
    name: 东四街道
    centre: [116.41, 39.92]
  - code: JS
    name: 景山街道
flow: {a: 1, b: [x, y]}
"""


def write(tmp_path: Path, text: str, name: str = "f.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_every_value_has_its_line(tmp_path: Path) -> None:
    f = yamlfile.load(write(tmp_path, SAMPLE))
    assert f.data["streets"][1]["name"] == "景山街道"
    assert f.line_of(()) == 2  # the document starts at its first key
    assert f.line_of(("title",)) == 2
    assert f.line_of(("streets",)) == 4
    assert f.line_of(("streets", 0)) == 4
    assert f.line_of(("streets", 0, "name")) == 5
    assert f.line_of(("streets", 0, "centre", 1)) == 6
    assert f.line_of(("streets", 1, "code")) == 7
    assert f.line_of(("flow", "b", 1)) == 9


def test_a_path_not_in_the_file_points_at_its_nearest_parent(tmp_path: Path) -> None:
    f = yamlfile.load(write(tmp_path, SAMPLE))
    assert f.line_of(("streets", 1, "communities")) == 7  # a missing field: its mapping
    assert f.line_of(("streets", 5, "code")) == 4  # no such item: the list
    assert f.line_of(("nothing", "here")) == 2
    path = tmp_path / "f.yaml"
    assert f.where(("streets", 0, "name")) == f"{path}:5"
    assert f.error(("streets", 0, "name"), "too long") == f"{path}:5: too long"


@pytest.mark.parametrize(("text", "line"), [
    ("a: 1\nb: c: d\ne: 2\n", 2),  # a second colon
    ("a: 1\nb:\n\t- x\n", 3),  # a tab
    ("a:\n  b: 1\n c: 2\n", 3),  # bad indentation
    ("a: 1\nb: [x, y\nc: 3\n", 3),  # an unclosed list, noticed on the next line
])
def test_bad_yaml_is_one_problem_at_its_line(tmp_path: Path, text: str, line: int) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        yamlfile.load(path)
    [problem] = caught.value.problems
    assert problem.startswith(f"{path}:{line}: not valid YAML (")
    assert str(caught.value) == problem


def test_a_missing_file_is_a_problem_too(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        yamlfile.load(tmp_path / "nope.yaml")
    [problem] = caught.value.problems
    assert problem.startswith(f"{tmp_path / 'nope.yaml'}: cannot read it (")


def test_an_empty_file_is_an_empty_mapping(tmp_path: Path) -> None:
    f = yamlfile.load(write(tmp_path, "# nothing yet\n"))
    assert f.data == {} and f.line_of(("a",)) == 1


@pytest.mark.parametrize(("text", "line", "said"), [
    ("a: 1\nb: !!python/object/apply:os.system ['true']\n", 2, "python/object/apply"),
    ("a: 1\nb: !!python/name:os.system\n", 2, "python/name"),
    ("a: 1\nb:\n  c: !custom x\n", 3, "!custom"),
    ("a: 1\nb: !!python/object:object {x: 1}\n", 2, "python/object"),
    ("a: 1\nb:\n  - 2026-13-45\n", 3, "month must be in 1..12"),
])
def test_only_safe_values_and_a_refusal_at_its_line(tmp_path: Path, text: str, line: int,
                                                     said: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        yamlfile.load(path)
    [problem] = caught.value.problems
    assert problem.startswith(f"{path}:{line}: ") and said in problem


def test_a_key_given_twice_is_refused_at_the_second_one(tmp_path: Path) -> None:
    # PyYAML keeps the last of two equal keys without a word; in a reviewed file the first one
    # would silently stop counting
    path = write(tmp_path, "streets:\n  - code: DS\n    name: 东四街道\n    code: JS\n")
    with pytest.raises(ConfigError) as caught:
        yamlfile.load(path)
    [problem] = caught.value.problems
    assert problem.startswith(f"{path}:4: ") and "'code' is given twice" in problem


def test_anchors_and_merge_free_aliases_still_load(tmp_path: Path) -> None:
    f = yamlfile.load(write(tmp_path, "a: &d {respond: 1, resolve: 2}\nb: *d\n"))
    assert f.data == {"a": {"respond": 1, "resolve": 2}, "b": {"respond": 1, "resolve": 2}}


class _Street(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(pattern=r"^[A-Z]{2,5}$")
    name: str
    centre: tuple[float, float] | None = None


class _Doc(BaseModel):
    title: str
    streets: list[_Street]
    flow: dict[str, object]


def test_validation_problems_point_at_the_field(tmp_path: Path) -> None:
    text = SAMPLE.replace("code: JS", "code: js").replace("centre: [116.41, 39.92]",
                                                          "centre: [116.41, north]")
    text = text.replace("    name: 景山街道\n", "    name: 景山街道\n    colour: red\n")
    path = write(tmp_path, text)
    f = yamlfile.load(path)
    with pytest.raises(ValidationError) as caught:
        _Doc.model_validate(f.data)
    problems = f.validation_problems(caught.value)
    assert len(problems) == 3
    by_field = {p.split(": ")[1]: p for p in problems}
    assert by_field["streets.0.centre.1"].startswith(f"{path}:6: ")
    assert by_field["streets.1.code"].startswith(f"{path}:7: ")
    assert by_field["streets.1.colour"].startswith(f"{path}:9: ")
    assert "Extra inputs are not permitted" in by_field["streets.1.colour"]


def test_validation_problems_of_a_missing_field_and_a_prefix(tmp_path: Path) -> None:
    path = write(tmp_path, "title: x\n")
    f = yamlfile.load(path)
    with pytest.raises(ValidationError) as caught:
        _Doc.model_validate(f.data)
    problems = f.validation_problems(caught.value)
    assert sorted(p.split(": ")[1] for p in problems) == ["flow", "streets"]
    assert all(p.startswith(f"{path}:1: ") for p in problems)
    with pytest.raises(ValidationError) as again:
        _Street.model_validate({"code": "ds", "name": "x"})
    [inner] = yamlfile.load(write(tmp_path, SAMPLE, "g.yaml")).validation_problems(
        again.value, prefix=("streets", 1))
    assert inner.startswith(f"{tmp_path / 'g.yaml'}:7: streets.1.code: ")
