"""What a person sees: the shipped dashboard and the bed's device page in a real browser.

One Home Assistant per release serves its real frontend; the real sleepenv runs next to it
with seven stored nights (PLM-heavy, so "worth discussing with a doctor" is on) and plays
the first two hours of a live night. The trend view needs statistics of past nights: the
stored nights' figures are recorded in Home Assistant at their own past times by a
test-only integration and compiled by the recorder itself (browser.BACKDATE_INIT), the rows
a Home Assistant running all along would have made. Headless Chromium at a phone's width
then loads every view of automations/dashboards/sleepenv.yaml (in YAML mode, as the README
says) and the bed's device page, keeps a screenshot of each under
test-artifacts/browser/<release>/ (paths printed) and checks what a person would see.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.publish as mqtt_publish
import pytest
import yaml
from playwright.sync_api import Browser

from sleepenv.bed.core.model import NightSummary
from sleepenv.bed.store import Store
from sleepenv.clock import ScaledClock
from sleepenv.config.settings import Settings
from sleepenv.mqtt.broker import MosquittoProcess
from sleepenv.sim.night import generate_night

from .browser import (
    BACKDATE_FILES,
    BACKDATE_YAML,
    NOT_FOUND,
    Frontend,
    artefact_dir,
    dashboard_yaml,
    markdown_cards,
)
from .harness import JSON, HomeAssistant
from .install import REPO_ROOT
from .sleepenv_service import (
    RetainedDiscovery,
    ServiceThread,
    play_frames,
    wait_admitted,
    wait_registered,
)

BED = "bedroom"
ENVELOPE_TOPIC = "bedsensors/bedroom/envelope"
SENSOR_STATUS_TOPIC = "bedsensors/bedroom/status"
DASHBOARD_PATH = REPO_ROOT / "automations" / "dashboards" / "sleepenv.yaml"
DASHBOARD_URL = "sleepenv-sleep"
# The first two hours of a night (getting into bed, falling asleep, a restless onset) in a
# minute. Faster, the service's lag behind the scaled clock nears the 15 s of silence after
# which "In bed" turns unknown, and the Activity log fills with that instead.
SPEED = 120.0
NIGHT_HOURS = 2.0
PROFILE, SEED = "restless_onset", 2
STORED_NIGHTS = 7
NIGHT_START_HOUR = 18  # sleepenv's default night window starts at 18:00 (bed time zone UTC)
# The Activity log of one 8-hour night: getting into and out of bed, falling asleep, the
# night's summary and the odd sensor hiccup are worth a line each; one line per movement is
# not (a restless night has hundreds). 150 leaves room for a few dozen of each kind and
# still fits a morning's scroll (the issue measured ~1,200). The played part of a night
# gets its share.
ACTIVITY_ENTRIES_PER_NIGHT = 150
ACTIVITY_ENTRIES_PLAYED = math.ceil(ACTIVITY_ENTRIES_PER_NIGHT * NIGHT_HOURS / 8)

HA_FILES = {"dashboards/sleepenv.yaml": DASHBOARD_PATH.read_text(), **BACKDATE_FILES}
HA_EXTRA_YAML = f"{dashboard_yaml(DASHBOARD_URL)}\n{BACKDATE_YAML}"

# What each stored night holds (PLM index above 15/h on every night: the advisory's pattern).
STORED_COUNTS = {"twitch": 9, "hypnic_jerk": 2, "limb_movement": 31, "plm": 140, "rollover": 11}
STORED_PLM_INDEX = 21.5


def live_night_start() -> float:
    """Yesterday 22:30 UTC: inside the night window of a bed on UTC."""
    yesterday = datetime.now(UTC) - timedelta(days=1)
    return yesterday.replace(hour=22, minute=30, second=0, microsecond=0).timestamp()


def stored_night_dates() -> list[date]:
    """The local dates of the stored nights, oldest first (before the live night)."""
    live = datetime.fromtimestamp(live_night_start(), UTC).date()
    return [live - timedelta(days=k) for k in range(STORED_NIGHTS, 0, -1)]


def stored_night(night: date, k: int) -> NightSummary:
    """A finished night as sleepenv stores it; counts vary a little from night to night."""
    start = datetime.combine(night, datetime.min.time(), UTC) + timedelta(hours=NIGHT_START_HOUR)
    counts = {cls: n + k for cls, n in STORED_COUNTS.items()}
    return NightSummary(
        bed_id=BED,
        night=night.isoformat(),
        start=start.timestamp(),
        end=(start + timedelta(hours=18)).timestamp(),
        counts=counts,
        sleep_onset=(start + timedelta(hours=5, minutes=10)).timestamp(),
        plm_index=STORED_PLM_INDEX + k / 10,
        rejected=0,
        waking_jerks=1,
    )


def sleepenv_settings(broker: MosquittoProcess, data_dir: Path) -> Settings:
    """The bed `bedroom` the dashboard is written for, with its guidance room."""
    return Settings(
        mqtt={"host": broker.host, "port": broker.port, "client_id": "sleepenv-browser-test"},
        beds=[
            {
                "id": BED,
                "name": "Bedroom",
                "timezone": "UTC",
                "sensors": [
                    {
                        "kind": "envelope",
                        "topic": ENVELOPE_TOPIC,
                        "status_topic": SENSOR_STATUS_TOPIC,
                    }
                ],
            }
        ],
        storage={"data_dir": data_dir},
        guidance={"bedrooms": [{"id": BED, "name": "Bedroom", "timezone": "UTC", "bed": BED}]},
    )


def dashboard() -> dict[str, Any]:
    """The shipped dashboard."""
    result: dict[str, Any] = yaml.safe_load(DASHBOARD_PATH.read_text())
    return result


def cards(view: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every card of a view, nested ones (stacks, sections, grids) included."""
    todo = list(view.get("cards", [])) + [
        c for s in view.get("sections", []) for c in s.get("cards", [])
    ]
    while todo:
        card = todo.pop()
        yield card
        todo.extend(card.get("cards", []))


def card_entities(card: dict[str, Any]) -> list[str]:
    """The entity ids a card names (plain strings or `entity:` rows)."""
    found = [card["entity"]] if isinstance(card.get("entity"), str) else []
    for item in card.get("entities", []):
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict) and isinstance(item.get("entity"), str):
            found.append(item["entity"])
    return found


def trend_cards() -> list[tuple[str, dict[str, Any]]]:
    """(view path, card) of the statistics graphs that span more than a week."""
    return [
        (str(view.get("path")), card)
        for view in dashboard()["views"]
        for card in cards(view)
        if card.get("type") == "statistics-graph" and int(card.get("days_to_show", 0)) > 7
    ]


# What a stored night's figure is for a `<what>_tonight` / `<what>_last_night` key.
FIGURE_CLASSES = {
    "twitches": "twitch",
    "hypnic_jerks": "hypnic_jerk",
    "limb_movements": "limb_movement",
    "plm": "plm",
    "rollovers": "rollover",
}


def night_figure(summary: NightSummary, what: str) -> float:
    """The final figure of a stored night for an entity key's subject."""
    if what == "plm_index":
        return float(summary.plm_index or 0.0)
    if what == "waking_jerks":
        return float(summary.waking_jerks or 0)
    if what in FIGURE_CLASSES:
        return float(summary.counts.get(FIGURE_CLASSES[what], 0))
    return float(summary.total_movements)


def night_states(key: str, summary: NightSummary) -> list[tuple[float, float, str | None]]:
    """(time, value, last_reset) that sleepenv publishes for `key` over one stored night:
    a `*_tonight` figure counts up from the night's start, a `*_last_night` one is set when
    the night closes (by the next noon at the latest)."""
    start = summary.start
    reset = datetime.fromtimestamp(start, UTC).isoformat()
    if key.endswith("_last_night"):
        final = night_figure(summary, key.removesuffix("_last_night"))
        return [(start + 18 * 3600 - 600, final, None)]
    final = night_figure(summary, key.removesuffix("_tonight"))
    return [
        (start + 60, 0.0, reset),
        (start + 5.5 * 3600, round(final / 2), reset),
        (start + 10.5 * 3600, final, reset),
    ]


@dataclass
class Night:
    """The module's sleepenv and what the tests need to know about its nights."""

    settings: Settings
    clock: ScaledClock
    thread: ServiceThread
    stored: list[NightSummary]
    played_from: datetime | None = None
    played_to: datetime | None = None
    backdated: dict[str, int] = field(default_factory=dict)  # entity_id -> nights recorded
    ids: dict[str, str] = field(default_factory=dict)  # dashboard's entity id -> actual one
    entries: list[JSON] = field(default_factory=list)  # registry entries of sleepenv's entities


@pytest.fixture(scope="module")
def night(
    frontend_home_assistant: HomeAssistant,
    ha_broker: MosquittoProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Night]:
    """A sleepenv with seven stored nights, those nights in Home Assistant's statistics, and
    one live night played through it."""
    ha = frontend_home_assistant
    data_dir = tmp_path_factory.mktemp("sleepenv-data")
    store = Store(data_dir / "sleepenv.db")
    stored = [stored_night(d, k) for k, d in enumerate(stored_night_dates())]
    for summary in stored:
        store.save_night(summary)
    store.close()
    settings = sleepenv_settings(ha_broker, data_dir)
    clock = ScaledClock(live_night_start(), SPEED)
    clock.set_speed(1.0)  # real time until the night is played
    thread = ServiceThread(settings, clock).start()
    running = Night(settings, clock, thread, stored)
    try:
        install_dashboard(ha, ha_broker, running)
        backdate_stored_nights(ha, running)
        play_live_night(ha, ha_broker, running)
        yield running
    finally:
        running.thread.stop()


def install_dashboard(ha: HomeAssistant, broker: MosquittoProcess, running: Night) -> None:
    """Once sleepenv's entities are registered, put the dashboard in place with the entity
    ids Home Assistant gave them, as the README tells users of releases that ignore
    `default_entity_id` (before 2025.10)."""
    entries = wait_registered(ha, RetainedDiscovery(broker).components())
    running.entries = list(entries.values())
    ids = running.ids
    for unique_id, entry in entries.items():
        platform = entry["entity_id"].split(".")[0]
        ids[f"{platform}.{unique_id}"] = entry["entity_id"]
    text = DASHBOARD_PATH.read_text()
    for wanted, actual in sorted(ids.items(), key=lambda kv: -len(kv[0])):
        if wanted != actual:
            text = re.sub(rf"\b{re.escape(wanted)}\b", actual, text)
    (ha.config_dir / "dashboards" / "sleepenv.yaml").write_text(text)


def backdate_stored_nights(ha: HomeAssistant, running: Night) -> None:
    """Record each stored night's figures at their own past times for the trend cards'
    entities that exist, and have the recorder compile the hours that hold them."""
    wanted = {e for _, card in trend_cards() for e in card_entities(card)}
    prefix = f"sleepenv_{BED}_"
    first = datetime.now(UTC).timestamp()
    saved: dict[str, JSON] = {}
    for dashboard_id in sorted(wanted):
        entity_id = running.ids.get(dashboard_id, dashboard_id)
        current = ha.state(entity_id)
        if current is None:
            continue  # "Entity not found" is reported by the view test
        saved[entity_id] = current
        key = dashboard_id.split(".", 1)[1].removeprefix(prefix)
        for summary in running.stored:
            for at, value, reset in night_states(key, summary):
                extra = {"last_reset": reset} if "last_reset" in current["attributes"] else {}
                ha.call_service(
                    "sleepenv_backdate",
                    "record",
                    {"entity_id": entity_id, "state": value, "at": at, "attributes": extra},
                )
                first = min(first, at)
            running.backdated[entity_id] = running.backdated.get(entity_id, 0) + 1
    # Every 5-minute period from the first recorded hour to the last one that has ended,
    # as a Home Assistant running all along would have compiled them.
    period = 300
    last = int(datetime.now(UTC).timestamp()) // period * period - period
    starts = list(range(int(first) // 3600 * 3600, last + 1, period))
    began = time.monotonic()
    ha.ws(
        {
            "type": "call_service",
            "domain": "sleepenv_backdate",
            "service": "compile",
            "service_data": {"starts": starts},
        },
        timeout=600,
    )
    print(f"compiled {len(starts)} periods in {time.monotonic() - began:.0f} s")
    for entity_id, state in saved.items():  # back to the live state until sleepenv's next
        ha.call_service(
            "sleepenv_backdate",
            "record",
            {
                "entity_id": entity_id,
                "state": state["state"],
                "at": datetime.now(UTC).timestamp(),
                "attributes": state["attributes"],
            },
        )


def play_live_night(ha: HomeAssistant, broker: MosquittoProcess, running: Night) -> None:
    """The first NIGHT_HOURS of a restless night through sleepenv at SPEED."""
    mqtt_publish.single(
        SENSOR_STATUS_TOPIC, "online", qos=1, retain=True, hostname=broker.host, port=broker.port
    )
    live = generate_night(SEED, PROFILE, start=running.clock.now(), hours=NIGHT_HOURS)

    async def play() -> float:
        service = running.thread.service
        assert service is not None
        running.clock.set_speed(SPEED)
        try:
            end = await play_frames(running.settings, ENVELOPE_TOPIC, live.frames(), running.clock)
            await wait_admitted(service, BED, end)
        finally:
            running.clock.set_speed(1.0)  # the night must not run into its end meanwhile
        return end

    running.played_from = datetime.now(UTC)
    running.thread.call(play, timeout=600)
    running.played_to = datetime.now(UTC)
    total = sum(1 for bed, _ in running.thread.events if bed == BED)
    assert total > 0, "sleepenv detected no movement in a restless night"
    movements = ha.entity_by_unique_id(f"sleepenv_{BED}_movements_tonight")
    assert movements is not None
    ha.wait_for_state(movements["entity_id"], lambda s: s["state"] not in ("unknown", ""))
    print(f"live night: {total} movements detected")


@dataclass(frozen=True)
class Visit:
    """What one page showed: its text, the texts cut short, its charts, its screenshot."""

    path: str
    text: str
    truncated: list[str]
    charts: list[list[dict[str, Any]]]
    screenshot: Path


@pytest.fixture(scope="module")
def visits(
    chromium: Browser,
    frontend_home_assistant: HomeAssistant,
    night: Night,  # noqa: ARG001 - the pages show the played night: it is in HA first
) -> Iterator[dict[str, Visit]]:
    """Every dashboard view and the bed's device page, loaded once each (key: view path or
    "device"), with a screenshot of each."""
    ha = frontend_home_assistant
    page = Frontend(chromium, ha, artefact_dir(ha.version))
    result: dict[str, Visit] = {}
    try:
        for view in dashboard()["views"]:
            path = str(view.get("path"))
            result[path] = visit(
                page, f"/{DASHBOARD_URL}/{path}", f"dashboard-{path}", markdown_cards(view)
            )
        device = bed_device(ha)
        result["device"] = visit(page, f"/config/devices/device/{device['id']}", "device-bed")
        activity = page.page
        activity.goto(f"{ha.base_url}/logbook")
        activity.locator("ha-logbook").first.wait_for(state="attached")
        page.screenshot("activity")
        yield result
    finally:
        page.close()


def visit(page: Frontend, path: str, name: str, markdown: int = 0) -> Visit:
    """Load one page (with at least `markdown` markdown cards drawn) and take what the
    tests look at."""
    page.open(path, name, markdown_cards=markdown)
    return Visit(path, page.text(), page.truncated(), page.chart_series(), page.screenshot(name))


def bed_device(ha: HomeAssistant) -> JSON:
    """The bed's device in Home Assistant."""
    for device in ha.device_registry():
        if ["mqtt", f"sleepenv_{BED}"] in device["identifiers"]:
            return device
    raise AssertionError(f"no device sleepenv_{BED}")


def entity_names(ha: HomeAssistant) -> list[str]:
    """The friendly names of the bed device's entities."""
    device = bed_device(ha)
    names = []
    for entry in ha.entity_registry():
        if entry.get("device_id") == device["id"] and not entry.get("disabled_by"):
            state = ha.state(entry["entity_id"])
            if state is not None:
                names.append(str(state["attributes"].get("friendly_name", "")))
    return names


# ---------------------------------------------------------------- the dashboard


def test_every_view_finds_its_entities(visits: dict[str, Visit]) -> None:
    """No card says "Entity not found" (or not available) on any view of the dashboard."""
    missing = {
        v.path: [line for line in v.text.splitlines() if NOT_FOUND.search(line)]
        for key, v in visits.items()
        if key != "device"
    }
    assert not {p: lines for p, lines in missing.items() if lines}, missing


def test_trend_draws_every_stored_night(visits: dict[str, Visit], night: Night) -> None:
    """Each multi-night trend draws a series per entity, and each series shows every stored
    night (their figures differ night to night, so at least one distinct value each)."""
    trends = trend_cards()
    assert trends, "the dashboard has no multi-night trend"
    problems = {}
    for path, card in trends:
        series = [s for chart in visits[path].charts for s in chart]
        for wanted in card_entities(card):
            entity_id = night.ids.get(wanted, wanted)
            drawn = [
                s for s in series if s["id"] == entity_id or s["id"].startswith(entity_id + "-")
            ]
            values = {round(v, 3) for s in drawn for v in s["values"]}
            if len(values) < STORED_NIGHTS:
                problems[f"{path}: {card.get('title')}: {entity_id}"] = sorted(values)
    assert not problems, f"fewer than {STORED_NIGHTS} nights drawn (values): {problems}"


def test_worth_discussing_reason_is_shown(
    visits: dict[str, Visit], frontend_home_assistant: HomeAssistant
) -> None:
    """With the advisory on, its pattern is readable on the dashboard, not only under
    More info → Attributes."""
    pattern = advisory_pattern(frontend_home_assistant)
    shown = [key for key, v in visits.items() if key != "device" and pattern in v.text]
    assert shown, f"no dashboard view shows {pattern!r}"


def test_worth_discussing_reason_on_device_page(
    visits: dict[str, Visit], frontend_home_assistant: HomeAssistant
) -> None:
    """... and the bed's device page names it: in short there (the full sentences would
    squeeze the row's name at a phone's width), a word of the pattern's own sentence."""
    ha = frontend_home_assistant
    pattern = advisory_pattern(ha)
    entry = ha.entity_by_unique_id(f"sleepenv_{BED}_advisory_reason")
    assert entry is not None, "no entity of the bed states the advisory's reason"
    state = ha.state(entry["entity_id"])
    assert state is not None
    reason = str(state["state"])
    assert reason.split(maxsplit=1)[0].lower() in pattern.lower(), (reason, pattern)
    assert reason in visits["device"].text, f"the device page does not show {reason!r}"


def advisory_pattern(ha: HomeAssistant) -> str:
    """The first pattern of the (on) advisory, as Home Assistant holds it."""
    entry = ha.entity_by_unique_id(f"sleepenv_{BED}_worth_discussing")
    assert entry is not None
    state = ha.wait_for_state(entry["entity_id"], "on")
    patterns = state["attributes"].get("patterns") or []
    assert patterns, state
    return str(patterns[0])


def test_names_fit_a_phone_on_the_dashboard(visits: dict[str, Visit]) -> None:
    """At 412 px no text of the dashboard is cut with an ellipsis."""
    cut = {v.path: v.truncated for key, v in visits.items() if key != "device" and v.truncated}
    assert not cut, cut


def test_names_fit_a_phone_on_the_device_page(
    visits: dict[str, Visit], frontend_home_assistant: HomeAssistant
) -> None:
    """At 412 px the bed's entity names are shown whole on its device page."""
    names = entity_names(frontend_home_assistant)
    device = visits["device"]
    cut = [t for t in device.truncated if any(n.endswith(t) or t in n for n in names)]
    assert not cut, cut


# ---------------------------------------------------------------- the Activity log


@pytest.mark.usefixtures("visits")
def test_activity_log_of_a_night_is_short(
    frontend_home_assistant: HomeAssistant, night: Night
) -> None:
    """The Activity log of the played hours holds at most their share of
    ACTIVITY_ENTRIES_PER_NIGHT lines."""
    ha = frontend_home_assistant
    assert night.played_from is not None
    assert night.played_to is not None
    entries: list[JSON] = ha.ws(
        {
            "type": "logbook/get_events",
            "start_time": night.played_from.isoformat(),
            "end_time": (night.played_to + timedelta(seconds=5)).isoformat(),
        }
    )
    sleepenv_ids = {e["entity_id"] for e in night.entries}
    ours = [e for e in entries if e.get("entity_id") in sleepenv_ids]
    by_entity: dict[str, int] = {}
    for e in ours:
        by_entity[e["entity_id"]] = by_entity.get(e["entity_id"], 0) + 1
    assert by_entity, "the played night left nothing in the Activity log"
    summary = json.dumps(dict(sorted(by_entity.items(), key=lambda kv: -kv[1])), indent=1)
    print(f"Activity log of the played night: {len(ours)} entries\n{summary}")
    assert len(ours) <= ACTIVITY_ENTRIES_PLAYED, f"{len(ours)} entries:\n{summary}"
