"""Scoring detected movements against ground truth (pure: plain data in, numbers out).

Matching is one-to-one: a detection and a true event match when their onsets are within
`ONSET_TOLERANCE_SECONDS` and their intervals overlap; closest onsets are paired first.
Waking jerks are instants (onsets), matched on the onset tolerance alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sleepenv.evaluation.spans import Span, complement, occupancy_minutes

ONSET_TOLERANCE_SECONDS = 1.0
# Quiet sleep keeps this far from every true event (mattress ringing, slow rises).
QUIET_MARGIN_SECONDS = 10.0
PLMI_THRESHOLD = 15.0
# A sleep onset must be found on every night with the sleeper in bed at least this long.
ONSET_EXPECTED_HOURS = 5.0
CLASSES = ("twitch", "hypnic_jerk", "limb_movement", "plm", "rollover", "bout")
# Grouped classes reported like a class of their own.
GROUPS = {"limb_movement+plm": ("limb_movement", "plm")}


@dataclass(frozen=True, slots=True)
class Interval:
    """A movement for scoring: onset, offset, class, and who made it (truth only)."""

    onset: float
    offset: float
    cls: str
    side: str = "sleeper"


@dataclass(frozen=True, slots=True)
class NightScore:
    """What one night contributes to the totals."""

    tp: int
    fp: int
    fn: int
    per_class: dict[str, tuple[int, int, int]]  # class -> (tp, fp, fn)
    partner_detections: int
    false_quiet: int
    quiet_hours: float
    false_empty: int
    empty_hours: float
    count_error: int  # detected sleeper movements minus true ones
    plmi_truth: float | None
    plmi_detected: float | None
    onset_truth: float | None
    onset_detected: float | None
    waking_jerks: tuple[int, int, int] = (0, 0, 0)  # (tp, fp, fn) of jerk onsets
    occupied_hours: float = 0.0  # the sleeper's true time in bed
    false_nobody: int = 0  # unmatched detections while nobody is in bed (absences too)
    nobody_hours: float = 0.0
    occupancy_minutes: int = 0  # minutes judged (0: the detector reported no occupancy)
    occupancy_minutes_right: int = 0


def overlaps(a: Interval, b: Interval) -> bool:
    """True when the two intervals share time (a zero-length event touching counts)."""
    return a.onset <= b.offset and b.onset <= a.offset


def match(
    truth: Sequence[Interval], detected: Sequence[Interval], *, needs_overlap: bool = True
) -> list[tuple[int, int]]:
    """One-to-one pairs (truth index, detected index), closest onsets first."""
    order = sorted(range(len(detected)), key=lambda j: detected[j].onset)
    onsets = [detected[j].onset for j in order]
    candidates: list[tuple[float, int, int]] = []
    for i, t in enumerate(truth):
        lo = _bisect(onsets, t.onset - ONSET_TOLERANCE_SECONDS)
        for k in range(lo, len(order)):
            d = detected[order[k]]
            if d.onset > t.onset + ONSET_TOLERANCE_SECONDS:
                break
            if not needs_overlap or overlaps(t, d):
                candidates.append((abs(d.onset - t.onset), i, order[k]))
    candidates.sort()
    used_t: set[int] = set()
    used_d: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for _, i, j in candidates:
        if i not in used_t and j not in used_d:
            used_t.add(i)
            used_d.add(j)
            pairs.append((i, j))
    return pairs


def _bisect(values: list[float], x: float) -> int:
    lo, hi = 0, len(values)
    while lo < hi:
        mid = (lo + hi) // 2
        if values[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def prf(tp: int, fp: int, fn: int) -> dict[str, float | None]:
    """Precision, recall and F1 (None where undefined)."""
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    if r is None:
        return {"precision": p, "recall": None, "f1": None}  # nothing to find: undefined
    f1 = 2 * p * r / (p + r) if p is not None and p + r > 0 else None
    if p == 0.0 or r == 0.0:
        f1 = 0.0
    return {"precision": p, "recall": r, "f1": f1}


def waking_prf(tp: int, fp: int, fn: int) -> dict[str, float | None]:
    """`prf` for waking jerks: with none to find, precision is None too (every detection
    is false by construction, which the false-per-night rate already says)."""
    scores = prf(tp, fp, fn)
    if tp + fn == 0:
        scores["precision"] = None
    return scores


def score_waking(truth: Sequence[float], detected: Sequence[float]) -> tuple[int, int, int]:
    """(tp, fp, fn) of detected waking-jerk onsets against true ones, one-to-one."""
    pairs = match(
        [Interval(t, t, "hypnic_jerk") for t in truth],
        [Interval(d, d, "hypnic_jerk") for d in detected],
        needs_overlap=False,  # instants: the onset tolerance is the whole test
    )
    return len(pairs), len(detected) - len(pairs), len(truth) - len(pairs)


def _class_counts(
    truth: Sequence[Interval], detected: Sequence[Interval], classes: tuple[str, ...]
) -> tuple[int, int, int]:
    t = [e for e in truth if e.cls in classes and e.side == "sleeper"]
    d = [e for e in detected if e.cls in classes]
    pairs = match(t, d)
    return len(pairs), len(d) - len(pairs), len(t) - len(pairs)


def _subtract(span: tuple[float, float], holes: Iterable[tuple[float, float]]) -> float:
    """Length of `span` not covered by `holes` (hours)."""
    a, b = span
    covered = 0.0
    cursor = a
    for hole_lo, hole_hi in sorted(holes):
        lo, hi = max(hole_lo, cursor), min(hole_hi, b)
        if hi > lo:
            covered += hi - lo
            cursor = hi
    return max(0.0, (b - a) - covered) / 3600.0


def _inside(t: float, spans: Iterable[tuple[float, float]]) -> bool:
    return any(a <= t < b for a, b in spans)


def score_night(
    truth: Sequence[Interval],
    detected: Sequence[Interval],
    *,
    start: float,
    end: float,
    in_bed: tuple[float, float] | None,
    sleep: tuple[float, float] | None,
    plmi_truth: float | None = None,
    plmi_detected: float | None = None,
    onset_detected: float | None = None,
    waking_truth: Sequence[float] = (),
    waking_detected: Sequence[float] = (),
    occupied: Sequence[Span] | None = None,
    occupied_detected: Sequence[Span] | None = None,
) -> NightScore:
    """Score one night; `in_bed` and `sleep` are the true (start, end) spans, `waking_*`
    the onsets of the hypnic jerks that woke the sleeper. `occupied` are the true spans
    with the sleeper in bed (default: `in_bed`; absences mid-night split it), and
    `occupied_detected` the detector's (None: occupancy is not scored)."""
    pairs = match(truth, detected)
    matched_d = {j for _, j in pairs}
    sleeper_tp = sum(1 for i, _ in pairs if truth[i].side == "sleeper")
    partner_hits = len(pairs) - sleeper_tp
    n_sleeper = sum(1 for e in truth if e.side == "sleeper")
    unmatched = [d for j, d in enumerate(detected) if j not in matched_d]
    holes = [(e.onset - QUIET_MARGIN_SECONDS, e.offset + QUIET_MARGIN_SECONDS) for e in truth]
    quiet_hours = _subtract(sleep, holes) if sleep else 0.0
    quiet = [(sleep[0], sleep[1])] if sleep else []
    empty = [(start, in_bed[0]), (in_bed[1], end)] if in_bed else [(start, end)]
    empty_hours = sum(_subtract(s, holes) for s in empty)
    per_class = {c: _class_counts(truth, detected, (c,)) for c in CLASSES}
    per_class.update({g: _class_counts(truth, detected, cs) for g, cs in GROUPS.items()})
    occupied = list(occupied) if occupied is not None else ([in_bed] if in_bed else [])
    nobody = complement(occupied, start, end)
    right, minutes = (0, 0)
    if occupied_detected is not None:
        right, minutes = occupancy_minutes(occupied, occupied_detected, start, end)
    return NightScore(
        tp=sleeper_tp,
        fp=len(unmatched),
        fn=n_sleeper - sleeper_tp,
        per_class=per_class,
        partner_detections=partner_hits,
        false_quiet=_false_in(unmatched, quiet, holes),
        quiet_hours=quiet_hours,
        false_empty=_false_in(unmatched, empty, holes),
        empty_hours=empty_hours,
        count_error=(len(detected) - partner_hits) - n_sleeper,
        plmi_truth=plmi_truth,
        plmi_detected=plmi_detected,
        onset_truth=sleep[0] if sleep else None,
        onset_detected=onset_detected,
        waking_jerks=score_waking(waking_truth, waking_detected),
        occupied_hours=sum(b - a for a, b in occupied) / 3600.0,
        false_nobody=_false_in(unmatched, nobody, holes),
        nobody_hours=sum(_subtract(s, holes) for s in nobody),
        occupancy_minutes=minutes,
        occupancy_minutes_right=right,
    )


def _false_in(
    unmatched: Sequence[Interval],
    spans: Sequence[tuple[float, float]],
    holes: Sequence[tuple[float, float]],
) -> int:
    """Unmatched detections starting inside `spans` and away from every true event."""
    return sum(1 for d in unmatched if _inside(d.onset, spans) and not _inside(d.onset, holes))


def quantile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated quantile (None for no values)."""
    if not values:
        return None
    xs = sorted(values)
    pos = q * (len(xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


@dataclass(slots=True)
class Totals:
    """Sums over nights, turned into the report by `report()`."""

    nights: list[NightScore] = field(default_factory=list)

    def add(self, score: NightScore) -> None:
        """Add one night."""
        self.nights.append(score)

    def report(self) -> dict[str, object]:
        """Every metric of the evaluation as a JSON-ready dict."""
        ns = self.nights
        tp, fp, fn = sum(n.tp for n in ns), sum(n.fp for n in ns), sum(n.fn for n in ns)
        per_class: dict[str, object] = {}
        for c in (*CLASSES, *GROUPS):
            ctp = sum(n.per_class[c][0] for n in ns)
            cfp = sum(n.per_class[c][1] for n in ns)
            cfn = sum(n.per_class[c][2] for n in ns)
            per_class[c] = {**prf(ctp, cfp, cfn), "tp": ctp, "fp": cfp, "fn": cfn}
        quiet_h = sum(n.quiet_hours for n in ns)
        empty_h = sum(n.empty_hours for n in ns)
        counts = [abs(n.count_error) for n in ns]
        return {
            "nights": len(ns),
            "any_movement": {**prf(tp, fp, fn), "tp": tp, "fp": fp, "fn": fn},
            "per_class": per_class,
            "partner_detections_per_night": _mean([n.partner_detections for n in ns]),
            "false_per_hour_quiet_sleep": sum(n.false_quiet for n in ns) / quiet_h
            if quiet_h
            else None,
            "false_per_hour_empty_bed": sum(n.false_empty for n in ns) / empty_h
            if empty_h
            else None,
            "quiet_sleep_hours": quiet_h,
            "empty_bed_hours": empty_h,
            "false_hypnic_jerks_per_night": _mean([n.per_class["hypnic_jerk"][1] for n in ns]),
            "count_error": {
                "mean_signed": _mean([n.count_error for n in ns]),
                "median_abs": quantile(counts, 0.5),
                "p95_abs": quantile(counts, 0.95),
            },
            "plm_index": _plmi_report(ns),
            "sleep_onset": _onset_report(ns),
            "waking_jerks": _waking_report(ns),
            "sleep_onset_found": _onset_found_report(ns),
            "occupancy": _occupancy_report(ns),
            "false_per_hour_nobody_in_bed": _ratio(
                sum(n.false_nobody for n in ns), sum(n.nobody_hours for n in ns)
            ),
            "nobody_in_bed_hours": sum(n.nobody_hours for n in ns),
        }


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def _onset_found_report(ns: Sequence[NightScore]) -> dict[str, object]:
    """The share of nights with the sleeper in bed ≥ 5 h on which an onset was reported."""
    eligible = [n for n in ns if n.occupied_hours >= ONSET_EXPECTED_HOURS]
    found = sum(1 for n in eligible if n.onset_detected is not None)
    return {"nights": len(eligible), "found": found, "share": _ratio(found, len(eligible))}


def _occupancy_report(ns: Sequence[NightScore]) -> dict[str, object]:
    """Minutes whose detected occupancy is right, over all nights and on the worst one."""
    judged = [n for n in ns if n.occupancy_minutes]
    right = sum(n.occupancy_minutes_right for n in judged)
    total = sum(n.occupancy_minutes for n in judged)
    worst = [100.0 * n.occupancy_minutes_right / n.occupancy_minutes for n in judged]
    return {
        "minutes": total,
        "minutes_right_pct": _ratio(100.0 * right, total),
        "worst_night_pct": min(worst) if worst else None,
    }


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _plmi_report(ns: Sequence[NightScore]) -> dict[str, object]:
    """Absolute PLMI error and agreement of the ≥ 15/h call (a missing index counts as 0)."""
    pairs = [(n.plmi_truth, n.plmi_detected or 0.0) for n in ns if n.plmi_truth is not None]
    errors = [abs(d - t) for t, d in pairs]
    pos = [(t, d) for t, d in pairs if t >= PLMI_THRESHOLD]
    neg = [(t, d) for t, d in pairs if t < PLMI_THRESHOLD]
    return {
        "nights": len(pairs),
        "abs_error_median": quantile(errors, 0.5),
        "abs_error_p95": quantile(errors, 0.95),
        "mean_signed_error": _mean([d - t for t, d in pairs]),
        "positive_nights": len(pos),
        "sensitivity_15": sum(1 for _, d in pos if d >= PLMI_THRESHOLD) / len(pos) if pos else None,
        "specificity_15": sum(1 for _, d in neg if d < PLMI_THRESHOLD) / len(neg) if neg else None,
    }


def _onset_report(ns: Sequence[NightScore]) -> dict[str, object]:
    """Sleep-onset error in minutes over nights with a true onset; misses counted apart."""
    with_truth = [n for n in ns if n.onset_truth is not None]
    found = [n for n in with_truth if n.onset_detected is not None]
    errors = [abs(n.onset_detected - n.onset_truth) / 60.0 for n in found]  # type: ignore[operator]
    signed = [(n.onset_detected - n.onset_truth) / 60.0 for n in found]  # type: ignore[operator]
    false_onsets = sum(1 for n in ns if n.onset_truth is None and n.onset_detected is not None)
    return {
        "nights": len(with_truth),
        "missed": len(with_truth) - len(found),
        "false_onsets": false_onsets,
        "abs_error_minutes_median": quantile(errors, 0.5),
        "abs_error_minutes_p90": quantile(errors, 0.9),
        "mean_signed_error_minutes": _mean(signed),
    }


def _waking_report(ns: Sequence[NightScore]) -> dict[str, object]:
    """Waking jerks: matched onsets, false ones per night, and the per-night count that
    the multi-night advisory reads (its test is "at least one on a night")."""
    tp, fp, fn = (sum(n.waking_jerks[k] for n in ns) for k in range(3))
    errors = [n.waking_jerks[1] - n.waking_jerks[2] for n in ns]  # detected minus true
    called = [(n.waking_jerks[0] + n.waking_jerks[1] > 0) for n in ns]
    true_any = [(n.waking_jerks[0] + n.waking_jerks[2] > 0) for n in ns]
    return {
        **waking_prf(tp, fp, fn),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "false_per_night": fp / len(ns) if ns else None,
        "count_error": {
            "mean_signed": _mean(errors),
            "mean_abs": _mean([abs(e) for e in errors]),
            "exact_nights": _mean([float(e == 0) for e in errors]),
        },
        "night_call_agreement": _mean(
            [float(c == t) for c, t in zip(called, true_any, strict=True)]
        ),
    }
