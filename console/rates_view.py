"""What the supervision page (三率督办) shows of tickets/rates.py's figures (pure): table rows
with percentages and names, CSV text of every table, and a bar chart drawn as SVG geometry
(the template writes it as inline SVG with presentation attributes — no script, no style, so
it lives under the console's CSP)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tickets.rates import Figures, Rate

COLUMNS = ("排名", "单位", "工单数", "响应率", "解决率", "满意率", "按期办结率", "重办率",
           "退回率", "未答复结案", "受理(时)", "派遣(时)", "签收(时)", "办结(时)", "综合得分")


def percent(rate: Rate) -> str:
    value = rate.value
    return "—" if value is None else f"{value * 100:.1f}%"


def hours(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


@dataclass(frozen=True)
class RateRow:
    rank: int
    key: str
    name: str
    cells: list[str]  # the columns after 排名 and 单位
    response: float | None
    solved: float | None
    satisfied: float | None
    sent_back: int


def rows_of(ranked: Sequence[Figures], name: Callable[[str], str]) -> list[RateRow]:
    rows = []
    for i, g in enumerate(ranked, start=1):
        cells = [str(g.assignments), percent(g.response), percent(g.solved),
                 percent(g.satisfied), percent(g.on_time), percent(g.reopened),
                 percent(g.sent_back), str(g.unanswered),
                 *(hours(g.median(step)) for step in ("register", "dispatch", "acknowledge",
                                                      "resolve")),
                 "—" if g.score is None else f"{g.score * 100:.1f}"]
        rows.append(RateRow(i, g.key, name(g.key), cells, g.response.value, g.solved.value,
                            g.satisfied.value, g.sent_back.num))
    return rows


def csv_text(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """UTF-8 CSV with a byte-order mark (spreadsheets open Chinese text right); a cell that
    starts like a formula is quoted with a leading apostrophe so it stays text."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([f"'{c}" if c[:1] in ("=", "+", "-", "@") and not _number(c) else c
                         for c in row])
    return out.getvalue()


def _number(text: str) -> bool:
    try:
        float(text.rstrip("%"))
    except ValueError:
        return False
    return True


def rate_csv(rows: Sequence[RateRow]) -> str:
    return csv_text(COLUMNS, [[str(r.rank), r.name, *r.cells] for r in rows])


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    fill: str
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    labels: list[Label]
    axis_y: float
    legend: list[tuple[str, str]]  # (fill, text)


SERIES = (("响应率", "#1677ff"), ("解决率", "#52c41a"), ("满意率", "#fa8c16"))


def chart_of(rows: Sequence[RateRow], limit: int = 12) -> Chart:
    """Grouped bars of the three rates of the first ``limit`` rows (0–100%)."""
    shown = list(rows[:limit])
    group, bar, top, plot, left = 54, 14, 24, 160, 36
    width = max(260, left + max(1, len(shown)) * group + 10)
    bars, labels = [], []
    for i, row in enumerate(shown):
        x0 = left + i * group + 6
        for j, ((name, fill), value) in enumerate(zip(
                SERIES, (row.response, row.solved, row.satisfied), strict=True)):
            h = (value or 0) * plot
            shown_value = "无数据" if value is None else f"{value * 100:.1f}%"
            bars.append(Bar(x0 + j * bar, top + plot - h, bar - 2, h, fill,
                            f"{row.name} {name} {shown_value}"))
        labels.append(Label(x0 + 1.5 * bar, top + plot + 14, row.name[:6]))
    return Chart(width, top + plot + 40, bars, labels, top + plot,
                 [(fill, name) for name, fill in SERIES])
