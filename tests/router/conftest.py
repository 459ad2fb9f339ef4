"""Fixtures of the router's tests: the shipped configuration and one classifier trained on the
labelled set, each made once per session (loading the gazetteer's segmenter and training the
model take seconds on a loaded machine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from router import classify, routerconfig
from router.classify import Model
from router.routerconfig import RouterConfig


@pytest.fixture(scope="session")
def config() -> RouterConfig:
    """The configuration in the repository (router/config/)."""
    return routerconfig.shipped()


@pytest.fixture(scope="session")
def model_path(config: RouterConfig, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A classifier trained on the whole labelled set, saved as ``hotline router train``
    saves it."""
    rows = classify.read_labelled(config.folder / "labelled.csv")
    path = tmp_path_factory.mktemp("classifier") / "classifier.joblib"
    classify.save(classify.train(rows, config.catalogue, source="labelled.csv"), path)
    return path


@pytest.fixture(scope="session")
def model(model_path: Path) -> Model:
    return classify.load(model_path)
