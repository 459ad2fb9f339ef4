"""What a ticket is about: explainable rules first, a trained model second, a person third.

1. **Rules**: the catalogue's phrases per category (``catalogue.yaml``). A phrase naming the
   matter outranks one naming a kind of place (a category's ``places``: 地铁站, 医院 …), so a
   landmark never decides what is wrong there; among phrases of the same rank the highest
   ``weight`` wins (then the longest phrase). A rule that fires decides, with the phrase as
   its reason.
2. **Model**: character 1–3-gram TF-IDF and a linear model with logistic loss (scikit-learn's
   ``SGDClassifier``), trained by ``hotline router train`` on the labelled set plus every
   catalogue phrase as an example of its category; it suggests a category with a probability.
3. A suggestion below the threshold (``routing.yaml``) is left to a person: the ticket waits in
   the operators' "needs a category" queue with the suggestion shown.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.pipeline import Pipeline

from router.catalogue import Catalogue

MODEL_VERSION = 1
SEED = 96010


@dataclass(frozen=True)
class Labelled:
    text: str
    category: str
    street: str  # "" when the text names no place that pins a street
    kind: str
    style: str


def read_labelled(path: Path) -> list[Labelled]:
    with path.open(encoding="utf-8", newline="") as f:
        return [Labelled(r["text"], r["category"], r.get("street", ""), r.get("kind", ""),
                         r.get("style", "")) for r in csv.DictReader(f)]


def split(rows: Sequence[Labelled], held_out: float = 0.2,
          seed: int = SEED) -> tuple[list[Labelled], list[Labelled]]:
    """A held-out split stratified by category (every category on both sides)."""
    by_category: dict[str, list[Labelled]] = defaultdict(list)
    for row in rows:
        by_category[row.category].append(row)
    rng = random.Random(seed)  # noqa: S311 - a reproducible split, not a secret
    train: list[Labelled] = []
    test: list[Labelled] = []
    for category in sorted(by_category):
        items = sorted(by_category[category], key=lambda r: r.text)
        rng.shuffle(items)
        cut = max(1, round(len(items) * held_out)) if len(items) > 1 else 0
        test.extend(items[:cut])
        train.extend(items[cut:])
    return train, test


@dataclass(frozen=True)
class RuleMatch:
    category: str
    phrase: str


def rule_category(catalogue: Catalogue, text: str) -> RuleMatch | None:
    """The category whose phrase decides: matter phrases before place phrases, then weight,
    then the longest phrase."""
    fired = [(rank, c.weight, len(p), c.code, p) for c in catalogue.categories
             for rank, phrases in ((1, c.phrases), (0, c.places)) for p in phrases if p in text]
    if not fired:
        return None
    *_, code, phrase = max(fired)
    return RuleMatch(code, phrase)


@dataclass
class Model:
    pipeline: Pipeline
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"model v{self.meta.get('version', '?')} ({self.meta.get('data_sha256', '')[:8]})"

    def predict(self, text: str) -> tuple[str, float]:
        probabilities = self.pipeline.predict_proba([text])[0]
        best = int(probabilities.argmax())
        return str(self.pipeline.classes_[best]), float(probabilities[best])


def train(rows: Iterable[Labelled], catalogue: Catalogue, *, source: str = "") -> Model:
    """A model from labelled rows, with the catalogue's phrases and names as examples too
    (with a handful of rows per category the phrases carry most of the vocabulary)."""
    data = list(rows)
    texts = [r.text for r in data]
    labels = [r.category for r in data]
    for category in catalogue.categories:
        for phrase in (*category.phrases, *category.places, category.name):
            texts.append(phrase)
            labels.append(category.code)
    pipeline = Pipeline([
        ("tfidf", TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)),
        ("clf", SGDClassifier(loss="log_loss", alpha=1e-5, max_iter=50, tol=1e-4,
                              random_state=SEED)),
    ])
    pipeline.fit(texts, labels)
    digest = hashlib.sha256("\n".join(f"{t}\t{c}" for t, c in zip(texts, labels, strict=True))
                            .encode())
    meta = {"version": MODEL_VERSION, "sklearn": sklearn.__version__, "rows": len(data),
            "source": source, "data_sha256": digest.hexdigest(),
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds")}
    return Model(pipeline, meta)


def save(model: Model, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump({"pipeline": model.pipeline, "meta": model.meta}, path)
    path.with_suffix(".json").write_text(json.dumps(model.meta, ensure_ascii=False, indent=1),
                                         encoding="utf-8")


class ModelUnusable(RuntimeError):
    pass


def load(path: Path) -> Model:
    """The model in ``path``; :class:`ModelUnusable` when missing or made by another version
    (retrain it: ``hotline router train``)."""
    if not path.is_file():
        raise ModelUnusable(f"no classifier at {path}; train one: hotline router train")
    data = joblib.load(path)
    meta = data.get("meta", {}) if isinstance(data, dict) else {}
    if meta.get("version") != MODEL_VERSION or meta.get("sklearn") != sklearn.__version__:
        raise ModelUnusable(f"{path} was made by another version (model {meta.get('version')}, "
                            f"scikit-learn {meta.get('sklearn')}); retrain it: hotline router "
                            "train")
    return Model(data["pipeline"], meta)


@dataclass(frozen=True)
class CategoryDecision:
    category: str | None  # None: a person decides
    source: str  # rule | model | none
    confidence: float
    detail: str  # the phrase, or the model and its suggestion


def classify(catalogue: Catalogue, model: Model | None, text: str,
             threshold: float) -> CategoryDecision:
    rule = rule_category(catalogue, text)
    if rule is not None:
        return CategoryDecision(rule.category, "rule", 1.0, rule.phrase)
    if model is None or not text.strip():
        return CategoryDecision(None, "none", 0.0, "no rule fired and no model")
    category, confidence = model.predict(text)
    rounded = round(confidence, 3)
    if confidence < threshold:
        return CategoryDecision(None, "model", rounded, f"{model.name} suggests {category}")
    return CategoryDecision(category, "model", rounded, model.name)


@dataclass(frozen=True)
class Report:
    """Held-out accuracy of rules + model (what a person would otherwise do)."""

    rows: int
    decided: int  # the router named a category
    correct: int  # ... and it was right
    by_category: dict[str, tuple[int, int, int]]  # code → (rows, decided, correct)

    @property
    def accuracy(self) -> float:
        """Correct among all rows (an undecided row counts as not correct)."""
        return self.correct / self.rows if self.rows else 0.0

    @property
    def precision(self) -> float:
        """Correct among the rows the router decided."""
        return self.correct / self.decided if self.decided else 0.0

    def as_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "decided": self.decided, "correct": self.correct,
                "accuracy": round(self.accuracy, 4), "precision": round(self.precision, 4),
                "by_category": {k: {"rows": v[0], "decided": v[1], "correct": v[2]}
                                for k, v in sorted(self.by_category.items())}}


def evaluate(catalogue: Catalogue, model: Model | None, rows: Sequence[Labelled],
             threshold: float) -> Report:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in rows:
        decision = classify(catalogue, model, row.text, threshold)
        entry = counts[row.category]
        entry[0] += 1
        if decision.category is not None:
            entry[1] += 1
            entry[2] += decision.category == row.category
    total = Counter[str]()
    for rows_, decided, correct in counts.values():
        total.update(rows=rows_, decided=decided, correct=correct)
    return Report(total["rows"], total["decided"], total["correct"],
                  {k: (v[0], v[1], v[2]) for k, v in counts.items()})
