"""The router's configuration checked as a whole (router/routerconfig.py) and by
``hotline check-config``: a broken copy of the shipped files gives one ``file:line: problem``
per mistake, at the line a reviewer has to fix."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from router import routerconfig
from router.routerconfig import CONFIG_DIR, RouterConfig
from router.yamlfile import ConfigError
from tests.hotline.gateway import base_env, hotline


@dataclass
class Copy:
    """A copy of router/config/ to break, remembering the line of every change."""

    folder: Path
    lines: dict[str, int] = field(default_factory=dict)

    def edit(self, name: str, old: str, new: str, *, after: str = "", label: str = "") -> int:
        """Replace the first ``old`` after the first ``after`` in ``name``; the line changed."""
        path = self.folder / name
        text = path.read_text(encoding="utf-8")
        start = text.index(after) if after else 0
        at = text.index(old, start)
        path.write_text(text[:at] + new + text[at + len(old):], encoding="utf-8")
        line = text.count("\n", 0, at) + 1
        self.lines[label or old] = line
        return line

    def at(self, name: str, line: int) -> str:
        return f"{self.folder / name}:{line}: "


@pytest.fixture
def copy(tmp_path: Path) -> Copy:
    folder = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, folder)
    return Copy(folder)


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        routerconfig.load(folder)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def one(problems: list[str], prefix: str, words: str) -> str:
    found = [p for p in problems if p.startswith(prefix) and words in p]
    assert len(found) == 1, (prefix, words, problems)
    return found[0]


def test_the_shipped_configuration_loads(config: RouterConfig) -> None:
    assert routerconfig.shipped() is config  # loaded once per process
    assert config.folder == CONFIG_DIR
    assert len(config.catalogue.categories) >= 30
    assert len(config.places.tree.streets) == 17
    assert config.places.polygons.keys() == config.places.cells.keys()
    assert config.rules.thresholds.category > 0


def test_a_copy_loads_the_same(copy: Copy) -> None:
    loaded = routerconfig.load(copy.folder)
    assert loaded.folder == copy.folder
    assert loaded.catalogue == routerconfig.shipped().catalogue


def test_every_cross_check_points_at_its_line(copy: Copy) -> None:
    cat, gaz, places = "catalogue.yaml", "gazetteer.yaml", "places.yaml"
    unknown_department = copy.edit(cat, "department: dept.law-enforcement", "department: dept.nope",
                                   after="code: urban.street-vending")
    duplicate_code = copy.edit(cat, "code: urban.illegal-ads", "code: urban.street-vending")
    shared_phrase = copy.edit(cat, "phrases: [共享单车,", "phrases: [摆摊, 共享单车,",
                              after="code: urban.shared-bikes")
    unknown_group = copy.edit(cat, "group: 市政", "group: 市容", after="code: municipal.manhole")
    unknown_street = copy.edit(gaz, "- name: 王府井大街", "- name: 王府井大街")
    copy.edit(gaz, "street: DHM", "street: XYZ", after="- name: 王府井大街")
    wrong_community = copy.edit(gaz, "community: DC-DHM-02", "community: DC-DS-01",
                                after="- name: 故宫博物院")
    no_polygon = copy.edit(places, "{code: DC-DHM-0102,", "{code: DC-DHM-0199,")
    foreign_cell = copy.edit(places, "{code: DC-DHM-0103,", "{code: DC-DS-0103,")
    # a cell only grids.geojson has: reported at the start of the street list
    streets_line = copy.edit(places, "  - code: DHM", "  - code: DHM", after="streets:")

    problems = problems_of(copy.folder)
    one(problems, copy.at(cat, unknown_department), "unknown department dept.nope")
    one(problems, copy.at(cat, duplicate_code), "category code urban.street-vending is used twice")
    one(problems, copy.at(cat, shared_phrase),
        "phrase 摆摊 is also a phrase of urban.street-vending")
    one(problems, copy.at(cat, unknown_group), "unknown group 市容")
    one(problems, copy.at(gaz, unknown_street), "王府井大街: unknown street XYZ")
    one(problems, copy.at(gaz, wrong_community), "故宫博物院: DC-DS-01 is not a community of DHM")
    one(problems, copy.at(places, no_polygon), "DC-DHM-0199 has no polygon in grids.geojson")
    one(problems, copy.at(places, foreign_cell), "DC-DS-0103 is not a cell of DC-DHM-01")
    one(problems, copy.at(places, foreign_cell), "DC-DS-0103 has no polygon in grids.geojson")
    one(problems, copy.at(places, streets_line), "grids.geojson has DC-DHM-0102")
    one(problems, copy.at(places, streets_line), "grids.geojson has DC-DHM-0103")
    assert len(problems) == 11, problems


def test_validation_errors_point_at_the_field(copy: Copy) -> None:
    weight = copy.edit("catalogue.yaml", "weight: 40", "weight: -1",
                       after="code: urban.shared-bikes")
    deadline = copy.edit("catalogue.yaml", "deadlines: {urgent: [2, 24],",
                         "deadlines: {urgent: [24, 2],", after="code: municipal.streetlight")
    threshold = copy.edit("routing.yaml", "category: 0.3", "category: 1.5")
    street = copy.edit("places.yaml", "code: DHM", "code: dhm")
    kind = copy.edit("gazetteer.yaml", "kind: road", "kind: alley", after="- name: 王府井大街")
    problems = problems_of(copy.folder)
    one(problems, copy.at("catalogue.yaml", weight), "categories.2.weight: ")
    one(problems, copy.at("catalogue.yaml", deadline), "urgent: resolve (2.0 h) before respond")
    one(problems, copy.at("routing.yaml", threshold), "thresholds.category: ")
    one(problems, copy.at("places.yaml", street), "streets.0.code: ")
    one(problems, copy.at("gazetteer.yaml", kind), "places.0.kind: ")
    assert len(problems) == 5, problems


def test_bad_yaml_in_two_files_is_two_problems(copy: Copy) -> None:
    cat = copy.edit("catalogue.yaml", "    name: 路灯照明", "    name: 路灯: 照明")
    rules = copy.edit("routing.yaml", "repeat: {count: 3, days: 30}", "repeat: {count: 3, days: 30")
    problems = problems_of(copy.folder)
    one(problems, copy.at("catalogue.yaml", cat), "not valid YAML")
    # an unclosed flow mapping is noticed where the next token cannot belong to it
    one(problems, f"{copy.folder / 'routing.yaml'}:", "not valid YAML")
    assert int(problems[1].split(":")[1]) > rules
    assert len(problems) == 2


def test_a_missing_file_and_a_broken_geojson(copy: Copy) -> None:
    (copy.folder / "routing.yaml").unlink()
    assert problems_of(copy.folder) == [f"{copy.folder / 'routing.yaml'}: cannot read it "
                                        "(No such file or directory)"]
    shutil.copy(CONFIG_DIR / "routing.yaml", copy.folder / "routing.yaml")
    (copy.folder / "grids.geojson").write_text('{"features": [', encoding="utf-8")
    problems = problems_of(copy.folder)
    assert problems[0].startswith(f"{copy.folder / 'grids.geojson'}:1: ")
    assert any("has no polygon in grids.geojson" in p for p in problems[1:])


# -- hotline check-config -----------------------------------------------------------------------
def test_check_config_exits_0_on_the_shipped_files_and_2_with_the_lines(copy: Copy,
                                                                         tmp_path: Path) -> None:
    line = copy.edit("catalogue.yaml", "department: dept.law-enforcement", "department: dept.nope",
                     after="code: urban.street-vending")
    runs = {}
    for name, folder in (("shipped", None), ("broken", copy.folder)):
        env = base_env(tmp_path)
        if folder is not None:
            env["HOTLINE_ROUTER_CONFIG"] = str(folder)
        runs[name] = subprocess.Popen(hotline("check-config"), env=env, cwd=tmp_path,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = {name: (proc.wait(300), *proc.communicate()) for name, proc in runs.items()}
    status, out, err = done["shipped"]
    assert status == 0, err
    assert out.startswith("ok: ") and "17 streets" in out
    status, out, err = done["broken"]
    assert status == 2 and out == ""
    assert "Traceback" not in err
    assert f"{copy.folder / 'catalogue.yaml'}:{line}: " in err
    assert "unknown department dept.nope" in err
