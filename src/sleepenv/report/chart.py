"""Draw a night (or a run of nights) as a PNG with matplotlib's Agg canvas.

matplotlib is imported inside the functions: it is heavy, and neither `sleepenv --help`
nor the service's start should pay for it. No pyplot: a Figure with its own Agg canvas
keeps no global state, so rendering may run in a worker thread off the event loop.
Colours are the Okabe–Ito palette (told apart with the common colour-vision
deficiencies); sizes give a legible 800 px wide image (fonts at least 9 pt at 100 dpi).
When the night has the bedroom's record (guidance configured), a second panel under the
timeline, on the same time axis, shows the room temperature against its target, the
evening's phases, when a screen was on and a late caffeine; the image is then taller.
"""

from __future__ import annotations

import gc
import io
import textwrap
from collections.abc import Mapping, Sequence
from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING, Final

from sleepenv.bed.core.model import MovementClass, NightSummary
from sleepenv.insights.core.bedroom import BedroomNight
from sleepenv.insights.core.factors import Factor, FactorRules, NightFactors, exposed
from sleepenv.report.night import LABELS, ROWS, ChartNight

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 5.5, 100  # 800 × 550 px
PANEL_HEIGHT_IN: Final = 7.4  # 800 × 740 px with the bedroom's panel
# Where things sit, in inches from the bottom (from the top for the header).
TIMELINE_IN: Final = 2.53  # the timeline's height
TIMELINE_BOTTOM_IN: Final = 1.485  # without the panel: above the time axis and footer
PANEL_BOTTOM_IN, PANEL_IN = 1.3, 1.45  # the bedroom's panel
TIMELINE_OVER_PANEL_IN: Final = 3.3  # with the panel (its legend between the two)
TITLE_TOP_IN, FIGURES_TOP_IN, FOOTER_IN = 0.165, 0.4675, 0.11
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
# The bedroom's panel, Okabe–Ito too: phases as light bands, each with its own word.
PHASE_SHADES: Final = (
    ("wind-down", "#E69F00", 0.22),  # orange
    ("no screens", "#CC79A7", 0.22),  # reddish purple
    ("lights out", "#56B4E9", 0.18),  # sky blue
)
ROOM_LINE: Final = "#000000"
TARGET_LINE: Final = "#009E73"  # bluish green, dashed
SCREEN_ON: Final = "#D55E00"  # vermillion
CAFFEINE: Final = "#0072B2"  # blue
PANEL_GID: Final = "bedroom"  # the panel's axes
TEMPERATURE_GID: Final = "bedroom:temperature"
TARGET_GID: Final = "bedroom:target"
SCREEN_GID: Final = "bedroom:screen"
CAFFEINE_GID: Final = "bedroom:caffeine"
PHASE_GID: Final = "bedroom:phase:"
OVERRIDE_GID: Final = "bedroom:overridden"
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


def _new_figure(height: float = HEIGHT_IN) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415 - matplotlib: heavy
    from matplotlib.figure import Figure  # noqa: PLC0415 - matplotlib: heavy

    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI)
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
    """The night's chart as a Figure (not yet saved): timeline, header and footer, and the
    bedroom's panel under the timeline when the night has its record."""
    room = night.bedroom
    height = HEIGHT_IN if room is None else PANEL_HEIGHT_IN
    fig = _new_figure(height)
    rows = _rows(night)
    bottom = TIMELINE_BOTTOM_IN if room is None else TIMELINE_OVER_PANEL_IN
    ax = fig.add_axes((0.16, bottom / height, 0.81, TIMELINE_IN / height))
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
    if room is not None:
        panel = fig.add_axes((0.16, PANEL_BOTTOM_IN / height, 0.81, PANEL_IN / height), sharex=ax)
        _bedroom_panel(panel, night, room)
        ax.set_xlabel("")
        ax.tick_params(labelbottom=False)
    title, figures = _header(night)
    fig.text(0.02, 1 - TITLE_TOP_IN / height, title, fontsize=TITLE_PT, weight="bold", va="top")
    fig.text(
        0.02, 1 - FIGURES_TOP_IN / height, figures, fontsize=FONT_PT, va="top", linespacing=1.4
    )
    fig.text(
        0.02, FOOTER_IN / height, _footer(night), fontsize=FONT_PT, va="bottom", color="#333333"
    )
    return fig


def _bedroom_panel(ax: Axes, night: ChartNight, room: BedroomNight) -> None:
    """Room temperature against its target over the evening's phases, the screens' time
    on and a late caffeine, on the timeline's time axis."""
    ax.set_gid(PANEL_GID)
    lo, hi = night.view
    _phase_bands(ax, room, hi)
    temps = [(t, c) for t, c in room.temperatures if t <= hi]
    values = [c for _, c in temps]
    if room.target_celsius is not None:
        values.append(room.target_celsius)
    bottom, top = (min(values) - 0.8, max(values) + 0.8) if values else (16.0, 22.0)
    top = max(top, bottom + 3.0)
    ax.set_ylim(bottom, top)
    if temps:
        # Each reading holds until the next; the last one until the end of the view.
        xs = [_num(t) for t, _ in temps] + [_num(hi)]
        ys = [c for _, c in temps] + [temps[-1][1]]
        ax.plot(xs, ys, color=ROOM_LINE, lw=1.5, drawstyle="steps-post", gid=TEMPERATURE_GID)
    if room.target_celsius is not None:
        ax.axhline(room.target_celsius, color=TARGET_LINE, ls="--", lw=1.4, gid=TARGET_GID)
    screen = [(a, b) for a, b in room.screen_on if b > lo and a < hi]
    if screen:
        ax.broken_barh(
            [(_num(a), _num(b) - _num(a)) for a, b in screen],
            (bottom, (top - bottom) * 0.12),
            color=SCREEN_ON,
            gid=SCREEN_GID,
        )
    _caffeine_marks(ax, room, night, top)
    ax.set_ylabel("room °C", fontsize=FONT_PT)
    ax.tick_params(labelsize=FONT_PT)
    ax.grid(axis="x", color="#BBBBBB", lw=0.5)
    _time_axis(ax, night)
    _panel_legend(ax, room, night.tz)


def _phase_bands(ax: Axes, room: BedroomNight, end: float) -> None:
    """The wind-down, the no-screen window and lights-out as shaded bands with their words
    (staggered, so that short phases keep their words apart); overridden spans hatched."""
    starts = [room.wind_down_at, room.no_screen_at, room.lights_out_at]
    ends = [room.no_screen_at, room.lights_out_at, end]
    for i, ((word, colour, alpha), a, b) in enumerate(zip(PHASE_SHADES, starts, ends, strict=True)):
        if a is None or b is None or b <= a:
            continue
        ax.axvspan(_num(a), _num(b), color=colour, alpha=alpha, lw=0, gid=PHASE_GID + word)
        ax.text(
            _num(a), 0.96 - 0.2 * i, " " + word, transform=ax.get_xaxis_transform(),
            fontsize=FONT_PT, va="top", ha="left", clip_on=True,
            bbox={"facecolor": "#FFFFFF", "alpha": 0.7, "lw": 0, "pad": 1},
        )  # fmt: skip
    for a, b in room.overridden:
        ax.axvspan(
            _num(a), _num(b), ymin=0.0, ymax=1.0, facecolor="none", edgecolor="#555555",
            hatch="///", lw=0, gid=OVERRIDE_GID,
        )  # fmt: skip


def _caffeine_marks(ax: Axes, room: BedroomNight, night: ChartNight, top: float) -> None:
    """Each late caffeine as a marker on the panel's top edge at its time (one before the
    drawn evening at the left edge; the legend gives the clock times)."""
    lo, hi = night.view
    late = room.late_caffeine
    if not late:
        return
    shown = [min(max(t, lo), hi) for t in late]
    ax.scatter(
        [_num(t) for t in shown], [top] * len(shown), marker="v", s=70, color=CAFFEINE,
        edgecolors="#000000", linewidths=0.8, clip_on=False, zorder=5, gid=CAFFEINE_GID,
    )  # fmt: skip


def _panel_legend(ax: Axes, room: BedroomNight, tz: tzinfo) -> None:
    from matplotlib.lines import Line2D  # noqa: PLC0415 - matplotlib: heavy
    from matplotlib.patches import Patch  # noqa: PLC0415 - matplotlib: heavy

    handles: list[Line2D | Patch] = [Line2D([], [], color=ROOM_LINE, lw=1.5, label="room")]
    if room.target_celsius is not None:
        target = f"target {room.target_celsius:g}\u00a0°C"
        handles.append(Line2D([], [], color=TARGET_LINE, ls="--", label=target))
    minutes = room.screen_minutes_in_window()
    screen = "screen on" + (f" ({minutes:.0f} min in the window)" if minutes else "")
    handles.append(Patch(color=SCREEN_ON, label=screen))
    if room.overridden:
        handles.append(
            Patch(facecolor="none", edgecolor="#555555", hatch="///", label="overridden by hand")
        )
    if room.late_caffeine:
        times = ", ".join(
            datetime.fromtimestamp(t, tz).strftime("%H:%M") for t in room.late_caffeine[-3:]
        )
        handles.append(
            Line2D(
                [], [], marker="v", ls="", color=CAFFEINE, markeredgecolor="#000000",
                label=f"caffeine after the cut-off ({times})",
            )
        )  # fmt: skip
    ax.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncols=3,
        fontsize=FONT_PT,
        frameon=False,
        handlelength=1.5,
        columnspacing=1.0,
    )


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
    (Factor.WIND_DOWN_OVERRIDDEN, "O", "wind-down overridden 15 min or more"),
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
    data = png(night_figure(night))
    _free_figures()
    return data


def _free_figures() -> None:
    """Free the figure just drawn: its artists refer to one another in cycles, which only a
    collection frees; left to the automatic one, each chart drawn in the same process (the
    CLI's, a thread's) added ~4 MiB until it came (bench/render_chart.py). ~30 ms."""
    gc.collect()


def _marks_legend() -> str:
    marks = ", ".join(f"{m} {words}" for _, m, words in FACTOR_MARKS)
    return "\n" + "\n".join(textwrap.wrap(f"Under the dates: {marks}.", 100))


def render_trend(
    nights: Sequence[NightSummary],
    bed_name: str,
    factors: Mapping[str, NightFactors] | None = None,
) -> bytes:
    """The trend chart of several nights as PNG bytes."""
    data = png(trend_figure(nights, bed_name, factors))
    _free_figures()
    return data
