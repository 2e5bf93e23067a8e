"""`analyze_recording` replays each message as it is read, with the answers of reading
the whole recording first (the topic, the source and the first time decided up front)."""

from __future__ import annotations

import json
import logging
import math
import tempfile
from pathlib import Path
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sleepenv.bed import analyze
from sleepenv.bed.analyze import SNIFF_MESSAGES, analyze_recording

T0 = 1_760_000_000.0


def _frame(t: float | None, level: float) -> dict[str, object]:
    """An envelope frame of one second at 10 Hz (no `t` when `t` is None)."""
    frame: dict[str, object] = {"hz": 10, "rms": [level] * 10}
    if t is not None:
        frame["t"] = t
    return frame


def _line(kind: str, topic: str, i: int, level: float) -> bytes:
    """One line of a recording: the `i`-th second of it, in one of several shapes."""
    t = T0 + i
    if kind == "frame":
        body: object = {"t": t, "topic": topic, "payload": _frame(t, level)}
    elif kind == "untimed":  # neither the wrapper nor the frame has a time
        body = {"t": None, "topic": topic, "payload": _frame(None, level)}
    elif kind == "bare":  # a frame pasted without its wrapper
        body = _frame(t, level)
    elif kind == "zigbee":
        body = {"t": t, "topic": topic, "payload": {"action": "vibration", "strength": 9}}
    elif kind == "other":  # an object no decoder knows
        body = {"t": t, "topic": topic, "payload": {"temperature": level}}
    else:
        return b'{"t": 1, "topic": '  # cut off
    return json.dumps(body, separators=(",", ":")).encode()


lines = st.lists(
    st.tuples(
        st.sampled_from(["frame"] * 6 + ["untimed", "bare", "zigbee", "other", "cut"]),
        st.sampled_from(["bed/b", "bed/b", "bed/a", "bed/c"]),
        st.sampled_from([0.2, 0.2, 0.2, 3.0, math.inf]),
    ),
    min_size=1,
    max_size=40,
)


def _both(path: Path) -> tuple[object, object]:
    """What analyze_recording answers (or raises), and what reading it all first does."""
    results: list[object] = []
    for run in (analyze_recording, lambda p: analyze._analyze_listed(p, None)):
        try:
            results.append(run(path))
        except ValueError as exc:
            results.append(f"ValueError: {exc}")
    return results[0], results[1]


@settings(max_examples=60, deadline=None)
@given(lines)
def test_streaming_gives_what_reading_everything_first_gives(
    spec: list[tuple[str, str, float]],
) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "r.jsonl"
        path.write_bytes(
            b"".join(_line(kind, topic, i, lv) + b"\n" for i, (kind, topic, lv) in enumerate(spec))
        )
        streamed, listed = _both(path)
    assert json.dumps(streamed) == json.dumps(listed)


def test_a_smaller_topic_after_the_start_starts_again(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    spec = [("frame", "bed/b", 0.2)] * 30 + [("frame", "bed/a", 0.2)] * 5
    path.write_bytes(b"".join(_line(k, tp, i, lv) + b"\n" for i, (k, tp, lv) in enumerate(spec)))
    with patch.object(analyze, "_analyze_listed", wraps=analyze._analyze_listed) as listed:
        doc = analyze_recording(path)
    assert listed.call_count == 1
    # bed/a is the bed's topic: bed/b's 30 frames are messages on an unknown topic.
    assert doc["rejected"] == 30
    assert (doc["start"], doc["end"]) == (T0, T0 + 34)  # unknown-topic times count too


def test_one_topic_is_read_once(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"".join(_line("frame", "bed/b", i, 0.2) + b"\n" for i in range(30)))
    with patch.object(analyze, "_analyze_listed") as listed:
        doc = analyze_recording(path)
    listed.assert_not_called()
    assert (doc["start"], doc["end"], doc["rejected"]) == (T0, T0 + 29, 0)


def test_no_source_in_the_first_messages_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    others = [_line("other", "bed/b", i, 0.2) for i in range(SNIFF_MESSAGES)]
    path.write_bytes(b"\n".join([*others, _line("frame", "bed/b", SNIFF_MESSAGES, 0.2)]))
    with pytest.raises(ValueError, match="no envelope frame"):
        analyze_recording(path)


def _with_infinite_rms(line: bytes) -> bytes:
    return line.replace(b'"rms":[0.2', b'"rms":[1e999', 1)


def test_an_abandoned_replay_logs_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "r.jsonl"
    lines = [_line("frame", "bed/b", i, 0.2) for i in range(30)]
    lines[3] = _with_infinite_rms(lines[3])
    lines += [_line("frame", "bed/a", 30 + i, 0.2) for i in range(5)]
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    with caplog.at_level(logging.WARNING):
        analyze_recording(path)
    said = [r.getMessage() for r in caplog.records]
    # As when the whole recording was read first: bed/b is no bed's topic.
    assert said == ["ignoring a message on unknown topic bed/b"]


def test_a_replay_that_stands_logs_its_rejections(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "r.jsonl"
    lines = [_line("frame", "bed/b", i, 0.2) for i in range(30)]
    lines[3] = _with_infinite_rms(lines[3])
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    with caplog.at_level(logging.WARNING):
        doc = analyze_recording(path)
    assert doc["rejected"] == 1
    assert [(r.name, r.getMessage()) for r in caplog.records] == [
        ("sleepenv.bed.pipeline", "rejected a message on bed/b: not_finite (rms[0]: inf)")
    ]
