"""The service catalogue (``router/config/catalogue.yaml``): departments and the categories of
matters residents bring, each with its department, default loop, deadlines and rule phrases."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from tickets.model import Loop

Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{1,62}$")]
Urgency = Literal["urgent", "normal", "low"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Department(_Frozen):
    code: Code
    name: str
    level: Literal["district", "city"]


class Deadline(_Frozen):
    respond: float = Field(gt=0)  # hours
    resolve: float = Field(gt=0)


class Category(_Frozen):
    code: Code
    name: str
    group: str
    department: Code
    loop: Loop
    deadlines: dict[Urgency, Deadline]
    phrases: list[Annotated[str, StringConstraints(min_length=2)]] = Field(min_length=1)
    # phrases that name a kind of place this matter is often about (地铁站, 医院): they decide
    # the category only when no matter phrase of any category occurs — a landmark never
    # outranks what the resident says is wrong there
    places: list[Annotated[str, StringConstraints(min_length=2)]] = []
    weight: int = Field(ge=0)

    @field_validator("deadlines", mode="before")
    @classmethod
    def _pairs(cls, value: object) -> object:
        """``{urgent: [2, 24]}`` → ``{urgent: {respond: 2, resolve: 24}}``."""
        if isinstance(value, dict):
            return {k: {"respond": v[0], "resolve": v[1]} if isinstance(v, list) and len(v) == 2
                    else v for k, v in value.items()}
        return value

    @field_validator("deadlines")
    @classmethod
    def _all_urgencies(cls, value: dict[Urgency, Deadline]) -> dict[Urgency, Deadline]:
        missing = {"urgent", "normal", "low"} - set(value)
        if missing:
            raise ValueError(f"deadlines for {', '.join(sorted(missing))} are missing")
        for name, d in value.items():
            if d.resolve < d.respond:
                raise ValueError(f"{name}: resolve ({d.resolve} h) before respond ({d.respond} h)")
        return value


class Catalogue(_Frozen):
    groups: list[str]
    departments: list[Department]
    categories: list[Category]

    def category(self, code: str) -> Category | None:
        return next((c for c in self.categories if c.code == code), None)

    def department(self, code: str) -> Department | None:
        return next((d for d in self.departments if d.code == code), None)

    def problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Cross-checks: unique codes, known groups and departments, no phrase twice."""
        found: list[tuple[tuple[str | int, ...], str]] = []
        seen: dict[str, str] = {}
        departments = {d.code for d in self.departments}
        if len(departments) != len(self.departments):
            found.append((("departments",), "two departments share a code"))
        codes: set[str] = set()
        for i, c in enumerate(self.categories):
            loc: tuple[str | int, ...] = ("categories", i)
            if c.code in codes:
                found.append(((*loc, "code"), f"category code {c.code} is used twice"))
            codes.add(c.code)
            if c.group not in self.groups:
                found.append(((*loc, "group"), f"unknown group {c.group}"))
            if c.department not in departments:
                found.append(((*loc, "department"), f"unknown department {c.department}"))
            for field, phrases in (("phrases", c.phrases), ("places", c.places)):
                for j, phrase in enumerate(phrases):
                    if phrase in seen and seen[phrase] != c.code:
                        found.append(((*loc, field, j),
                                      f"phrase {phrase} is also a phrase of {seen[phrase]}"))
                    seen[phrase] = c.code
        return found
