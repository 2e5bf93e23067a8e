"""Draw a night (or a run of nights) as a PNG with matplotlib's Agg canvas.

matplotlib is imported inside the functions: it is heavy, and neither `sleepenv --help`
nor the service's start should pay for it. No pyplot: a Figure with its own Agg canvas
keeps no global state, so rendering may run in a worker thread off the event loop.
Colours are the Okabe–Ito palette (told apart with the common colour-vision
deficiencies); sizes give a legible 800 px wide image (fonts at least 9 pt at 100 dpi).
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Final

from sleepenv.bed.core.model import MovementClass, NightSummary
from sleepenv.insights.core.factors import Factor, FactorRules, NightFactors, exposed
from sleepenv.report.night import LABELS, ROWS, ChartNight

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 5.5, 100  # 800 × 550 px
FONT_PT: Final = 9.0
TITLE_PT: Final = 12.0
FOOTER_CHARS: Final = 110  # what fits 800 px at FONT_PT

COLOURS: Final[dict[MovementClass, str]] = {
    MovementClass.TWITCH: "#56B4E9",  # sky blue
    MovementClass.HYPNIC_JERK: "#D55E00",  # vermillion
    MovementClass.LIMB_MOVEMENT: "#009E73",  # bluish green
    MovementClass.PLM: "#CC79A7",  # reddish purple
    MovementClass.ROLLOVER: "#0072B2",  # blue
    MovementClass.BOUT: "#E69F00",  # orange
    MovementClass.MOVEMENT: "#000000",
}
IN_BED_SHADE: Final = "#E0E0E0"
ASLEEP_SHADE: Final = "#CDE6F5"
# gid of the artists the tests look for: one collection per row, marks in time order.
MARKS_GID: Final = "marks:"
WAKING_GID: Final = "marks:waking"


def _rows(night: ChartNight) -> list[MovementClass]:
    """The rows drawn: the six classes, plus the coarse sensor's row when it has marks."""
    present = {e.cls for e in night.events}
    return [c for c, _ in ROWS if c is not MovementClass.MOVEMENT or c in present]


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    minutes = round(seconds / 60.0)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _header(night: ChartNight) -> tuple[str, str]:
    day = date.fromisoformat(night.night)
    title = f"{night.bed_name} · night of {day:%a %d %b %Y}"
    counts = night.counts()
    parts = [f"fell asleep after {_duration(night.time_to_fall_asleep_seconds)}"]
    parts.append(f"asleep {_duration(night.total_sleep_seconds)}")
    plmi = night.plm_index
    parts.append(f"PLM index {plmi:.1f}/h" if plmi is not None else "PLM index –")
    if night.screen_minutes is not None:
        parts.append(f"screens {night.screen_minutes:.0f} min in the no-screen window")
    per_class = []
    for cls in (c for c, _ in ROWS):
        n = counts.get(cls, 0)
        if not n and (cls is MovementClass.MOVEMENT or night.is_lower_bound):
            continue  # a coarse sensor cannot tell these classes: no row of zeros
        word = LABELS[cls]
        if cls is MovementClass.HYPNIC_JERK:
            per_class.append(f"{word} {n} ({night.waking_jerk_count} woke)")
        else:
            per_class.append(f"{word} {n}")
    bound = "at least: " if night.is_lower_bound else ""
    lines = " · ".join(parts) + "\n" + bound + " · ".join(per_class)
    return title, lines


def _footer(night: ChartNight) -> str:
    seen = []
    if night.sensors <= 1:
        seen.append("One sensor under the bed: a partner's movements count as the sleeper's.")
    else:
        seen.append("A movement is given to the side whose sensor felt clearly more of it.")
    if night.is_lower_bound:
        seen.append(
            "Zigbee vibration sensor: one report a minute at most, counts are lower bounds."
        )
    if night.movements_missing:
        seen.append("This night's movements are no longer stored: the figures are its own.")
    estimate = "Sleep is estimated from stillness (onset runs early when lying awake still)"
    if night.in_bed_note:
        estimate += f"; {night.in_bed_note}"
    seen.append(estimate + ". Not a diagnosis.")
    return "\n".join(textwrap.fill(line, FOOTER_CHARS) for line in seen)


def _new_figure() -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415 - matplotlib: heavy
    from matplotlib.figure import Figure  # noqa: PLC0415 - matplotlib: heavy

    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _time_axis(ax: Axes, night: ChartNight) -> None:
    import matplotlib.dates as mdates  # noqa: PLC0415 - matplotlib: heavy

    lo, hi = night.view
    ax.set_xlim(_num(lo), _num(hi))
    hours = (hi - lo) / 3600.0
    step = 1 if hours <= 10 else 2
    ax.xaxis.set_major_locator(mdates.HourLocator(interval=step, tz=night.tz))  # type: ignore[no-untyped-call]
    ax.xaxis.set_minor_locator(mdates.MinuteLocator(byminute=(30,), tz=night.tz))  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=night.tz))  # type: ignore[no-untyped-call]
    ax.tick_params(labelsize=FONT_PT)
    zone = datetime.fromtimestamp(lo, night.tz).tzname() or ""
    ax.set_xlabel(f"local time ({zone})", fontsize=FONT_PT)


def _num(t: float) -> float:
    """Unix seconds as matplotlib's date number (days since 1970-01-01 UTC)."""
    return t / 86400.0


def night_figure(night: ChartNight) -> Figure:
    """The night's chart as a Figure (not yet saved): timeline, header and footer."""
    fig = _new_figure()
    rows = _rows(night)
    ax = fig.add_axes((0.16, 0.27, 0.81, 0.46))
    for a, b in night.in_bed_spans:
        ax.axvspan(_num(a), _num(min(b, night.view[1])), color=IN_BED_SHADE, lw=0, zorder=0)
    if night.sleep_onset is not None:
        end = night.wake if night.wake is not None else night.view[1]
        ax.axvspan(_num(night.sleep_onset), _num(end), color=ASLEEP_SHADE, lw=0, zorder=0.5)
        ax.axvline(_num(night.sleep_onset), color="#000000", ls="--", lw=1.2, zorder=1)
    if night.wake is not None:
        ax.axvline(_num(night.wake), color="#000000", ls=":", lw=1.5, zorder=1)
    for y, cls in enumerate(rows):
        plain = [e for e in night.events if e.cls is cls and e.onset not in night.waking_onsets]
        ax.scatter(
            [_num(e.onset) for e in plain],
            [y] * len(plain),
            marker="|",
            s=160,
            linewidths=1.4,
            color=COLOURS[cls],
            gid=MARKS_GID + cls.value,
            zorder=3,
        )
        if cls is MovementClass.HYPNIC_JERK:
            woke = [e for e in night.events if e.cls is cls and e.onset in night.waking_onsets]
            ax.scatter(
                [_num(e.onset) for e in woke],
                [y] * len(woke),
                marker="v",
                s=70,
                color=COLOURS[cls],
                edgecolors="#000000",
                linewidths=0.8,
                gid=WAKING_GID,
                zorder=4,
            )
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_yticks(range(len(rows)), [LABELS[c] for c in rows], fontsize=FONT_PT)
    ax.grid(axis="x", color="#BBBBBB", lw=0.5)
    _time_axis(ax, night)
    _legend(ax)
    title, figures = _header(night)
    fig.text(0.02, 0.97, title, fontsize=TITLE_PT, weight="bold", va="top")
    fig.text(0.02, 0.915, figures, fontsize=FONT_PT, va="top", linespacing=1.4)
    fig.text(0.02, 0.02, _footer(night), fontsize=FONT_PT, va="bottom", color="#333333")
    return fig


def _legend(ax: Axes) -> None:
    from matplotlib.lines import Line2D  # noqa: PLC0415 - matplotlib: heavy
    from matplotlib.patches import Patch  # noqa: PLC0415 - matplotlib: heavy

    handles = [
        Patch(color=IN_BED_SHADE, label="in bed"),
        Patch(color=ASLEEP_SHADE, label="asleep"),
        Line2D([], [], color="#000000", ls="--", label="sleep onset"),
        Line2D([], [], color="#000000", ls=":", label="wake"),
        Line2D(
            [], [], marker="v", ls="", color=COLOURS[MovementClass.HYPNIC_JERK],
            markeredgecolor="#000000", label="jerk, then woke",
        ),
    ]  # fmt: skip
    ax.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncols=5,
        fontsize=FONT_PT,
        frameon=False,
        handlelength=1.5,
        columnspacing=1.0,
    )


# The factors' marks under each night of the trend: a letter each, so they read without
# colour (and on a phone).
FACTOR_MARKS: tuple[tuple[Factor, str, str], ...] = (
    (Factor.LATE_CAFFEINE, "C", "late caffeine"),
    (Factor.LATE_EXERCISE, "E", "late exercise"),
    (Factor.SCREENS, "S", "screens in the no-screen window"),
    (Factor.WARM_ROOM, "W", "room at 19.5\u00a0°C or warmer"),
    (Factor.OFF_SCHEDULE, "B", "bedtime 45 min or more off schedule"),
)


def factor_marks(factors: NightFactors | None) -> str:
    """The letters of the factors a night had ("" when none or unknown)."""
    if factors is None:
        return ""
    rules = FactorRules()
    return "".join(m for f, m, _ in FACTOR_MARKS if exposed(f, factors, rules))


def trend_figure(
    nights: Sequence[NightSummary],
    bed_name: str,
    factors: Mapping[str, NightFactors] | None = None,
) -> Figure:
    """Per-class counts per night (oldest left), stacked, with the PLM index on top and,
    when factors are known, each night's factors as letters under its date."""
    fig = _new_figure()
    low = 0.28 if factors else 0.2  # room for the factors' letters and their legend
    ax = fig.add_axes((0.08, low, 0.9, 0.82 - low))
    ordered = sorted(nights, key=lambda n: n.night)
    xs = list(range(len(ordered)))
    bottom = [0] * len(ordered)
    for cls, word in ROWS:
        values = [n.counts.get(cls.value, 0) for n in ordered]
        if cls is MovementClass.MOVEMENT and not any(values):
            continue
        ax.bar(xs, values, bottom=bottom, color=COLOURS[cls], label=word, gid=MARKS_GID + cls.value)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    labels = [date.fromisoformat(n.night).strftime("%a\n%d %b") for n in ordered]
    if factors:
        labels = [
            f"{x}\n{factor_marks(factors.get(n.night))}"
            for x, n in zip(labels, ordered, strict=True)
        ]
    ax.set_xticks(xs, labels, fontsize=FONT_PT)
    ax.set_xlim(-0.6, max(len(xs), 7) - 0.4)  # a few nights keep a bar's width
    ax.tick_params(labelsize=FONT_PT)
    ax.set_ylabel("movements per night", fontsize=FONT_PT)
    for x, n, top in zip(xs, ordered, bottom, strict=True):
        if n.plm_index is not None:
            ax.text(
                x,
                top,
                f"{n.plm_index:.{0 if n.plm_index >= 10 else 1}f}/h",
                ha="center",
                va="bottom",
                fontsize=FONT_PT,
            )
    ax.legend(
        loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=7, fontsize=FONT_PT, frameon=False
    )
    span = f"{ordered[0].night} to {ordered[-1].night}" if ordered else ""
    count = f"{len(ordered)} night{'s' if len(ordered) != 1 else ''}"
    fig.text(0.02, 0.975, f"{bed_name} · {count}, {span}", fontsize=TITLE_PT,
             weight="bold", va="top")  # fmt: skip
    fig.text(
        0.02,
        0.02,
        "Numbers above the bars: PLM index (PLM-like movements per hour asleep). It varies a"
        " lot\nfrom night to night: look at many nights, not one. Not a diagnosis."
        + (_marks_legend() if factors else ""),
        fontsize=FONT_PT,
        va="bottom",
        color="#333333",
    )
    return fig


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes, at its own size (no tight cropping: a fixed width)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def render_night(night: ChartNight) -> bytes:
    """One night's chart as PNG bytes."""
    return png(night_figure(night))


def _marks_legend() -> str:
    marks = ", ".join(f"{m} {words}" for _, m, words in FACTOR_MARKS)
    return "\n" + "\n".join(textwrap.wrap(f"Under the dates: {marks}.", 100))


def render_trend(
    nights: Sequence[NightSummary],
    bed_name: str,
    factors: Mapping[str, NightFactors] | None = None,
) -> bytes:
    """The trend chart of several nights as PNG bytes."""
    return png(trend_figure(nights, bed_name, factors))
