"""Places residents name (``gazetteer.yaml``) found in Chinese text, and the street they point to.

The text is segmented by jieba with every place name, alias, street and community name added as
a user word: jieba's own vocabulary keeps a place name inside an unrelated word from matching
(大江 in 大江南北), and among the place names the longest wins (东四十条 over 东四, 鼓楼东大街 over
鼓楼). Names of places outside the district that contain a district name (天坛医院) are listed
under ``elsewhere`` so they match as "not here" instead of their shorter, wrong neighbour.

:func:`Gazetteer.street_of` weighs the matches: a compound, hutong or landmark pins its street
more than a road that runs through several; a place right after 住/家 (where the resident lives)
counts little. It names a street only when one street holds most of the weight, and says how
sure it is — an unknown place stays unknown, never guessed.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import Annotated, Literal

import jieba
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from router.places import Places

Kind = Literal["road", "hutong", "landmark", "compound", "station", "market", "hospital",
               "school", "park"]
SURE = 0.75  # default share of the weight one street must hold to be named
WEIGHTS: dict[str, float] = {"compound": 1.0, "hutong": 1.0, "landmark": 1.0, "station": 0.9,
                             "market": 1.0, "hospital": 1.0, "school": 1.0, "park": 0.9,
                             "road": 0.8, "street": 0.9, "community": 1.0}
HOME_MARKERS = ("住", "家在", "家住", "我家")
_jieba_lock = threading.Lock()
jieba.setLogLevel(logging.WARNING)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Place(_Frozen):
    name: Annotated[str, StringConstraints(min_length=2)]
    kind: Kind
    street: str | None = None
    streets: list[str] | None = None
    community: str | None = None
    aliases: list[Annotated[str, StringConstraints(min_length=2)]] = []
    point: tuple[float, float] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Place:
        if (self.street is None) == (self.streets is None):
            raise ValueError("give exactly one of 'street' and 'streets'")
        return self

    @property
    def street_codes(self) -> list[str]:
        return [self.street] if self.street is not None else list(self.streets or [])


class GazetteerData(_Frozen):
    places: list[Place]
    # names of places outside the district that contain a district place name
    elsewhere: list[Annotated[str, StringConstraints(min_length=2)]] = Field(default_factory=list)


@dataclass(frozen=True)
class Match:
    text: str  # what was found in the text
    name: str  # the place's standard name
    kind: str  # a gazetteer kind, "street", "community" or "elsewhere"
    streets: tuple[str, ...]
    community: str | None
    start: int


@dataclass(frozen=True)
class StreetGuess:
    street: str | None  # None: unknown (nothing matched, or no street is clearly meant)
    confidence: float  # the named street's share of the weight (0 when unknown)
    community: str | None
    matches: tuple[Match, ...]
    candidates: dict[str, float]  # street → weight, for a person to choose from


class Gazetteer:
    def __init__(self, data: GazetteerData, places: Places) -> None:
        self.data = data
        self.places = places
        self.forms: dict[str, tuple[str, str, tuple[str, ...], str | None]] = {}
        entry: tuple[str, str, tuple[str, ...], str | None]
        for place in data.places:
            entry = (place.name, str(place.kind), tuple(place.street_codes), place.community)
            for form in (place.name, *place.aliases):
                self.forms.setdefault(form, entry)
        for street in places.tree.streets:
            entry = (street.name, "street", (street.code,), None)
            for form in (street.name, street.short, *street.aliases):
                if len(form) >= 2:
                    self.forms.setdefault(form, entry)
            for community in street.communities:
                self.forms.setdefault(community.name,
                                      (community.name, "community", (street.code,),
                                       community.code))
        for name in data.elsewhere:
            self.forms[name] = (name, "elsewhere", (), None)
        self._tokenizer: jieba.Tokenizer | None = None

    def _segmenter(self) -> jieba.Tokenizer:
        with _jieba_lock:
            if self._tokenizer is None:
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                for form in self.forms:
                    tokenizer.add_word(form, freq=1_000_000 + 1000 * len(form))
                self._tokenizer = tokenizer
            return self._tokenizer

    def find(self, text: str) -> list[Match]:
        """Every place named in ``text``, in order."""
        found: list[Match] = []
        position = 0
        for token in self._segmenter().cut(text, HMM=False):
            entry = self.forms.get(token)
            if entry is not None:
                name, kind, streets, community = entry
                found.append(Match(token, name, kind, streets, community, position))
            position += len(token)
        return found

    def street_of(self, text: str, sure: float = SURE) -> StreetGuess:
        matches = tuple(self.find(text))
        weights: dict[str, float] = defaultdict(float)
        communities: dict[str, str] = {}
        for m in matches:
            if not m.streets:
                continue
            weight = WEIGHTS.get(m.kind, 0.8)
            before = text[max(0, m.start - 4):m.start]
            if any(marker in before for marker in HOME_MARKERS):
                weight *= 0.25  # where the resident lives, not where the problem is
            for street in m.streets:
                weights[street] += weight / len(m.streets)
            if m.community is not None and len(m.streets) == 1:
                communities[m.streets[0]] = m.community
        total = sum(weights.values())
        if not total:
            return StreetGuess(None, 0.0, None, matches, {})
        best = max(weights, key=lambda s: weights[s])
        share = weights[best] / total
        rounded = {s: round(w, 3) for s, w in sorted(weights.items(), key=lambda i: -i[1])}
        if share < sure:
            return StreetGuess(None, 0.0, None, matches, rounded)
        return StreetGuess(best, round(share, 3), communities.get(best), matches, rounded)
