"""A client's trend as a picture for the practitioner's phone: discomfort 0-10 over time,
each session marked, the "compared with before the session" answers as markers, answers
passed on as concerns ringed, unanswered check-ins as gaps.

matplotlib (Agg, no pyplot state) is imported on the first chart only, and only in the
process that draws (``draw``), so the bot's start-up and memory do not pay for it. Colours
are the Okabe-Ito palette (safe for colour-blind readers) and every series also differs
in shape, so nothing is told by colour alone.
"""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

from babel.dates import format_date

import messages
from bot.domain.trend import Trend

WIDTH_PX, HEIGHT_PX, DPI = 1200, 800, 150
BLUE, VERMILLION, GREEN, ORANGE, GREY = "#0072B2", "#D55E00", "#009E73", "#E69F00", "#6E6E6E"
_CHANGE_MARKERS = {
    "much_better": ("v", GREEN),
    "better": ("v", GREEN),
    "same": ("o", GREY),
    "worse": ("^", ORANGE),
    "much_worse": ("^", ORANGE),
}
_CHANGE_BAND = 11.2
"""Where the comparison markers sit, above the 0-10 scale."""
_GAP_BAND = -0.8
"""Where an unanswered check-in is marked, below the scale."""


@dataclass(frozen=True, slots=True)
class ChartWords:
    """The chart's words in the reader's language."""

    title: str
    axis: str
    discomfort: str
    session: str
    no_answer: str
    passed_on: str
    better: str
    same: str
    worse: str


def chart_words(client_name: str, locale: str) -> ChartWords:
    """The chart's words from the catalog, in ``locale``."""

    def word(key: str, **params: str) -> str:
        return messages.render_plain(key, locale, **params)

    return ChartWords(
        title=word("chart.title", client=client_name),
        axis=word("chart.axis"),
        discomfort=word("chart.discomfort"),
        session=word("chart.session"),
        no_answer=word("chart.no_answer"),
        passed_on=word("chart.passed_on"),
        better=word("chart.better"),
        same=word("chart.same"),
        worse=word("chart.worse"),
    )


_drawing: ProcessPoolExecutor | None = None
_DRAWING_NICENESS = 19


def _drawers() -> int:
    """Processes drawing charts: one core is left to the bot, so its replies keep their
    pace while practitioners ask for charts."""
    return max(1, min(2, (os.cpu_count() or 1) - 1))


def _yield_to_bot() -> None:
    """Run a drawing process at a lower priority: a chart may wait, a reply should not."""
    os.nice(_DRAWING_NICENESS)


async def draw(trend: Trend, *, client_name: str, timezone: str, locale: str) -> bytes:
    """The chart as a PNG, drawn in a separate process: drawing holds Python's lock for
    most of its tenth of a second, which in a thread would hold up every other reply."""
    global _drawing  # noqa: PLW0603 -- started on the first chart, like matplotlib's import
    if _drawing is None:
        _drawing = ProcessPoolExecutor(
            _drawers(), mp_context=multiprocessing.get_context("spawn"), initializer=_yield_to_bot
        )
    words = chart_words(client_name, locale)
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(
            _drawing, partial(render_trend, trend, timezone=timezone, locale=locale, words=words)
        )
    except BrokenProcessPool:
        _drawing = None  # a drawing process died (killed, out of memory): start afresh next time
        raise


def render_trend(trend: Trend, *, timezone: str, locale: str, words: ChartWords) -> bytes:
    """The chart as a PNG of ``WIDTH_PX`` x ``HEIGHT_PX``, times in ``timezone``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
    from matplotlib.dates import AutoDateLocator, date2num, num2date  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415
    from matplotlib.ticker import FuncFormatter  # noqa: PLC0415

    zone = ZoneInfo(timezone)

    def local(moment: datetime) -> float:
        return float(date2num(moment.astimezone(zone).replace(tzinfo=None)))  # type: ignore[no-untyped-call]

    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0.1, 0.26, 0.86, 0.62))
    xs = [local(p.at) for p in trend.points]
    scores = [float("nan") if p.score is None else float(p.score) for p in trend.points]
    axes.plot(xs, scores, color=BLUE, linewidth=3, marker="o", markersize=8, label=words.discomfort)
    flagged = [(x, s) for x, s, p in zip(xs, scores, trend.points, strict=True) if p.flagged]
    if flagged:
        axes.plot(
            *zip(*flagged, strict=True),
            linestyle="none",
            marker="o",
            markersize=18,
            markerfacecolor="none",
            markeredgecolor=VERMILLION,
            markeredgewidth=3,
            label=words.passed_on,
        )
    gaps = [x for x, p in zip(xs, trend.points, strict=True) if not p.answered]
    if gaps:
        axes.plot(
            gaps,
            [_GAP_BAND] * len(gaps),
            linestyle="none",
            marker="x",
            markersize=10,
            markeredgewidth=2.5,
            color=GREY,
            label=words.no_answer,
        )
    labels = {"v": words.better, "o": words.same, "^": words.worse}
    for shape, colour in dict.fromkeys(_CHANGE_MARKERS.values()):
        at = [
            x
            for x, p in zip(xs, trend.points, strict=True)
            if p.change is not None and _CHANGE_MARKERS[p.change] == (shape, colour)
        ]
        if at:
            axes.plot(
                at,
                [_CHANGE_BAND] * len(at),
                linestyle="none",
                marker=shape,
                markersize=12,
                color=colour,
                label=labels[shape],
            )
    for number, session in enumerate(trend.sessions):
        axes.axvline(
            local(session),
            color=GREY,
            linestyle="--",
            linewidth=1.5,
            label=words.session if number == 0 else None,
        )
    axes.set_ylim(-1.4, 12)
    axes.set_yticks([0, 2, 4, 6, 8, 10])
    axes.set_ylabel(words.axis, fontsize=14)
    axes.set_title(words.title, fontsize=17, loc="left", pad=12)
    axes.xaxis.set_major_locator(AutoDateLocator(minticks=3, maxticks=7))  # type: ignore[no-untyped-call]

    def day(x: float, _position: object) -> str:
        moment = num2date(x)  # type: ignore[no-untyped-call]
        return str(format_date(moment.date(), "d MMM", locale=locale))

    axes.xaxis.set_major_formatter(FuncFormatter(day))
    axes.tick_params(labelsize=13)
    axes.grid(axis="y", color="#DDDDDD", linewidth=1)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    figure.legend(loc="lower center", ncol=3, fontsize=12, frameon=False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()
