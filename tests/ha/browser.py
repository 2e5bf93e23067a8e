"""Home Assistant's real frontend in headless Chromium, for tests of what a person sees.

`chromium` is Debian's browser (/usr/bin/chromium, installed by scripts/test; never a
browser download) driven over the DevTools protocol by Playwright. `frontend_home_assistant`
is a module's Home Assistant serving the release's own frontend (scripts/ha-env installs the
version its frontend manifest pins), onboarded to the end so a browser lands on a dashboard.
`Frontend` is one logged-in page at a phone's width with the checks the tests make:
text, truncated text and chart data, read through the shadow roots the frontend renders
into. `BACKDATE_FILES` is a test-only integration that records states at past moments and
runs the recorder's own statistics compile for past periods, so a multi-night trend can be
drawn without waiting days.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, ViewportSize, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from sleepenv.mqtt.broker import MosquittoProcess

from .harness import OWNER_PASSWORD, OWNER_USERNAME, HomeAssistant, Installation
from .install import REPO_ROOT
from .transport import HomeAssistantError

CHROMIUM = Path(os.environ.get("SLEEPENV_CHROMIUM", "/usr/bin/chromium"))
# A common phone's CSS width (Pixel 7, Galaxy S2x): where names get cut first.
PHONE_VIEWPORT: ViewportSize = {"width": 412, "height": 915}
ARTEFACTS = REPO_ROOT / "test-artifacts" / "browser"
RENDER_TIMEOUT_MS = 30_000
ICON_TIMEOUT_MS = 5_000
MAX_SCREENSHOT_HEIGHT = 4000

# Every element's own text, through open shadow roots; hidden elements are left out.
DEEP_TEXT_JS = """
() => {
  const out = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) walk(el.shadowRoot);
      const style = getComputedStyle(el);
      if (style.display === 'none' || style.visibility === 'hidden') continue;
      for (const node of el.childNodes) {
        if (node.nodeType === Node.TEXT_NODE && node.textContent.trim())
          out.push(node.textContent.trim());
      }
    }
  };
  walk(document);
  return out.join('\\n');
}
"""

# Elements whose text the browser cuts with an ellipsis (or a line clamp) right now.
TRUNCATED_JS = """
() => {
  const out = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) walk(el.shadowRoot);
      const text = (el.innerText || el.textContent || '').trim();
      if (!text || el.clientWidth === 0) continue;
      const style = getComputedStyle(el);
      const cut = style.textOverflow === 'ellipsis' && el.scrollWidth > el.clientWidth + 1;
      const clamped = style.webkitLineClamp !== 'none' && style.webkitLineClamp !== ''
        && el.scrollHeight > el.clientHeight + 1;
      if (cut || clamped) out.push(text.split('\\n')[0]);
    }
  };
  walk(document);
  return out;
}
"""

# The series every chart on the page draws: id, name, its points' values (nulls left out).
CHART_SERIES_JS = """
() => {
  const charts = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) walk(el.shadowRoot);
      if (el.localName === 'ha-chart-base') charts.push(el);
    }
  };
  walk(document);
  const y = (p) => Array.isArray(p) ? p[1] : (p && Array.isArray(p.value) ? p.value[1] : p);
  return charts.map((chart) => (chart.data || []).map((series) => ({
    id: String(series.id ?? ''),
    name: String(series.name ?? ''),
    values: (series.data || []).map(y).filter(
      (v) => v !== null && v !== undefined && typeof v !== 'object' && !Number.isNaN(Number(v))
    ).map(Number),
  })));
}
"""

# True once every visible icon has its picture.
ICONS_LOADED_JS = """
() => {
  const walk = (root, found) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) walk(el.shadowRoot, found);
      if (el.localName === 'ha-icon' && el.getClientRects().length > 0) found.push(el);
    }
    return found;
  };
  return walk(document, []).every((icon) => {
    const svg = icon.shadowRoot && icon.shadowRoot.querySelector('ha-svg-icon');
    return !icon.icon || (svg && svg.path);
  });
}
"""

# The height the page would need to show everything: the page's own scrolling container
# (one about as tall as the window; a card's inner list scrolls on its own).
CONTENT_HEIGHT_JS = """
() => {
  let height = document.documentElement.scrollHeight;
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) walk(el.shadowRoot);
      const overflow = getComputedStyle(el).overflowY;
      const pageSized = el.clientHeight >= 0.6 * window.innerHeight;
      if ((overflow === 'auto' || overflow === 'scroll') && pageSized
          && el.scrollHeight > el.clientHeight)
        height = Math.max(height, el.scrollHeight + el.getBoundingClientRect().top);
    }
  };
  walk(document);
  return Math.ceil(height);
}
"""

# True once the page has rendered: the launch screen is gone, no spinner is showing, every
# markdown card has content (its template is rendered by the server, the markdown in a
# worker), every statistics chart has its statistics (drawn or not) or says there are none.
RENDERED_JS = """
(minMarkdown) => {
  if (document.getElementById('ha-launch-screen')) return false;
  const pending = [];
  const markdown = [];
  const walk = (root, found) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) walk(el.shadowRoot, found);
      found.push(el);
    }
    return found;
  };
  const spinners = ['ha-spinner', 'ha-circular-progress', 'mwc-circular-progress'];
  for (const el of walk(document, [])) {
    if (el.localName === 'hui-statistics-graph-card') pending.push(el);
    if (el.localName === 'hui-markdown-card') markdown.push(el);
    if (spinners.includes(el.localName) && el.getClientRects().length > 0) return false;
  }
  const rendered = (card) => walk(card.shadowRoot || card, []).some(
    (el) => el.localName === 'ha-markdown-element'
      && (el.shadowRoot || el).textContent.trim() !== ''
  );
  // Cards are created lazily: a view whose markdown cards do not exist yet is not drawn.
  if (markdown.length < minMarkdown || !markdown.every(rendered)) return false;
  return pending.every((card) => {
    const root = card.shadowRoot;
    if (!root) return false;
    const chart = root.querySelector('statistics-chart');
    if (!chart || !chart.shadowRoot) return false;
    const base = chart.shadowRoot.querySelector('ha-chart-base');
    const text = chart.shadowRoot.textContent || '';
    // The chart element only appears once the statistics have arrived; it may draw
    // nothing (no series with values), which the trend test reports.
    return (base && Array.isArray(base.data)) || /no statistics|nothing to show/i.test(text);
  });
}
"""


def markdown_cards(view: dict[str, Any]) -> int:
    """The markdown cards a dashboard view always shows (those inside a conditional card
    may be hidden): the frontend creates cards lazily, and a view is not drawn before
    these exist and show their rendered template."""
    todo = list(view.get("cards", [])) + [
        c for s in view.get("sections", []) for c in s.get("cards", [])
    ]
    count = 0
    while todo:
        card = todo.pop()
        if card.get("type") == "conditional" or card.get("visibility"):
            continue
        count += card.get("type") == "markdown"
        todo.extend(card.get("cards", []))
    return count


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's headless Chromium, driven over the DevTools protocol.

    Per module, not per session: Playwright's sync API keeps an asyncio loop running in
    the main thread until it stops, and an async test of another module that the same
    xdist worker runs later could not start its own loop."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"no browser at {CHROMIUM}: scripts/test installs Debian's chromium "
            "(apt-get install chromium)",
            pytrace=False,
        )
    playwright: Playwright = sync_playwright().start()
    try:
        # --no-sandbox: the tests run as root, where Chromium's sandbox refuses to start.
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@pytest.fixture(scope="module")
def frontend_home_assistant(
    request: pytest.FixtureRequest, ha_installation: Installation, ha_broker: MosquittoProcess
) -> Iterator[HomeAssistant]:
    """Like `home_assistant`, but serving the real frontend and onboarded to the end.

    The module's `HA_EXTRA_YAML` and `HA_FILES` shape the instance as for `home_assistant`.
    """
    ha = HomeAssistant(
        ha_installation,
        extra_yaml=getattr(request.module, "HA_EXTRA_YAML", ""),
        files=getattr(request.module, "HA_FILES", None),
        real_frontend=True,
    )
    try:
        ha.start()
        ha.add_mqtt_entry(ha_broker.host, ha_broker.port)
        finish_onboarding(ha)
    except (HomeAssistantError, TimeoutError) as exc:
        ha.close(keep_files=True)
        pytest.fail(f"no real Home Assistant: {exc}\nconfig dir kept: {ha.config_dir}")
    try:
        yield ha
    finally:
        ha.close()


def finish_onboarding(ha: HomeAssistant) -> None:
    """The onboarding steps after the owner, so the frontend opens no onboarding wizard."""
    empty: dict[str, Any] = {}
    for step, body in (("core_config", empty), ("analytics", empty)):
        status, answer = ha.client.request("POST", f"/api/onboarding/{step}", json=body)
        if status not in (200, 403):  # 403: that step is done already
            raise HomeAssistantError(f"onboarding {step}: {status} {answer}")
    # The last step hands an auth code to a browser; a long-lived token has no credentials
    # to make one (403), and Home Assistant marks the step done all the same.
    redirect = {"client_id": f"{ha.base_url}/", "redirect_uri": f"{ha.base_url}/?auth_callback=1"}
    ha.client.request("POST", "/api/onboarding/integration", json=redirect)
    _, steps = ha.client.request("GET", "/api/onboarding", auth=False)
    left = [s["step"] for s in steps if not s.get("done")] if isinstance(steps, list) else steps
    if left:
        raise HomeAssistantError(f"onboarding not finished: {left}")


class Frontend:
    """One logged-in browser page on a Home Assistant, at a phone's width."""

    def __init__(self, browser: Browser, ha: HomeAssistant, artefacts: Path) -> None:
        """Open a page and log in through Home Assistant's own login form."""
        self.ha = ha
        self.artefacts = artefacts
        artefacts.mkdir(parents=True, exist_ok=True)
        self.context = browser.new_context(
            viewport=PHONE_VIEWPORT, locale="en-GB", reduced_motion="reduce"
        )
        self.context.set_default_timeout(RENDER_TIMEOUT_MS)
        self.page: Page = self.context.new_page()
        self._markdown_cards = 0  # markdown cards the open page must have drawn
        self._log_in()

    def _log_in(self) -> None:
        page = self.page
        page.goto(f"{self.ha.base_url}/")
        page.wait_for_url("**/auth/authorize**")
        page.locator("input[name='username']").fill(OWNER_USERNAME)
        page.locator("input[name='password']").fill(OWNER_PASSWORD)
        # "Keep me logged in" is ticked by default: the tokens outlive a page load.
        page.locator("input[name='password']").press("Enter")
        page.wait_for_url(lambda url: "/auth/" not in url and "auth_callback" not in url)
        page.locator("ha-sidebar").wait_for(state="attached")

    def open(self, path: str, name: str, *, markdown_cards: int = 0) -> None:
        """Load a frontend path and wait until its cards (or config page) have rendered,
        at least `markdown_cards` markdown cards among them (see `markdown_cards`); on a
        timeout keep a screenshot `<name>-timeout` of what there was."""
        self._markdown_cards = markdown_cards
        try:
            self.page.goto(f"{self.ha.base_url}{path}")
            self.page.locator("ha-card").first.wait_for(state="visible")
            self._wait_rendered()
            self.page.evaluate("document.fonts.ready.then(() => true)")
            # Icons load lazily, by icon set; only the pictures need them, so an icon that
            # never comes (a wrong name) costs a few seconds and fails nothing.
            with contextlib.suppress(PlaywrightTimeoutError):
                self.page.wait_for_function(ICONS_LOADED_JS, timeout=ICON_TIMEOUT_MS)
        except PlaywrightTimeoutError:
            self.screenshot(f"{name}-timeout")
            raise

    def _wait_rendered(self) -> None:
        self.page.wait_for_function(
            RENDERED_JS, arg=self._markdown_cards, timeout=RENDER_TIMEOUT_MS
        )

    def screenshot(self, name: str) -> Path:
        """A screenshot of the whole page, kept as a test artefact; prints where.

        Home Assistant scrolls inside its own containers, so the viewport is made as tall
        as the content for the picture (same width) and put back afterwards.
        """
        path = self.artefacts / f"{name}.png"
        height = min(int(self.page.evaluate(CONTENT_HEIGHT_JS)), MAX_SCREENSHOT_HEIGHT)
        if height > PHONE_VIEWPORT["height"]:
            self.page.set_viewport_size({"width": PHONE_VIEWPORT["width"], "height": height})
            self._wait_rendered()
        try:
            self.page.screenshot(path=str(path), full_page=True, animations="disabled")
        finally:
            self.page.set_viewport_size(PHONE_VIEWPORT)
        print(f"screenshot: {path}")
        return path

    def text(self) -> str:
        """Every visible text on the page, shadow roots included, one piece per line."""
        result: str = self.page.evaluate(DEEP_TEXT_JS)
        return result

    def truncated(self) -> list[str]:
        """Texts the browser shows cut (ellipsis or line clamp) at this width."""
        result: list[str] = self.page.evaluate(TRUNCATED_JS)
        return result

    def chart_series(self) -> list[list[dict[str, Any]]]:
        """Per chart on the page, its series: id, name and the values of its points."""
        result: list[list[dict[str, Any]]] = self.page.evaluate(CHART_SERIES_JS)
        return result

    def close(self) -> None:
        """Close the page and its context."""
        self.context.close()


NOT_FOUND = re.compile(r"Entity not (found|available)", re.IGNORECASE)


def artefact_dir(version: str) -> Path:
    """Where a run against Home Assistant `version` keeps its screenshots (gitignored)."""
    return ARTEFACTS / version


# A test-only integration: `record` sets an entity's state as of a past moment (keeping its
# attributes: state class, unit), `compile` runs the recorder's own 5-minute statistics task
# (which also makes the hourly rows at :55) for past periods. Nothing else changes in Home
# Assistant: what the recorder stores is what it computes from those states.
BACKDATE_INIT = '''\
"""Test-only: states at past moments and the recorder's compile of past periods."""

from datetime import UTC, datetime

from homeassistant.components.recorder import get_instance
from homeassistant.components.recorder.tasks import RecorderTask, StatisticsTask
from homeassistant.components.recorder.util import session_scope

DOMAIN = "sleepenv_backdate"


class ReloadOldestState(RecorderTask):
    """Re-read the oldest recorded state: history carries a state into a period only when
    the recorder knows it has states that old (one running all along would)."""

    def run(self, instance):
        with session_scope(session=instance.get_session(), read_only=True) as session:
            instance.states_manager.load_from_db(session)


async def async_setup(hass, config):
    async def record(call):
        entity_id = call.data["entity_id"]
        current = hass.states.get(entity_id)
        attributes = dict(current.attributes) if current is not None else {}
        attributes.update(call.data.get("attributes") or {})
        hass.states.async_set(
            entity_id,
            str(call.data["state"]),
            attributes,
            force_update=True,
            timestamp=float(call.data["at"]),
        )

    async def compile_periods(call):
        instance = get_instance(hass)
        instance.queue_task(ReloadOldestState())
        for start in call.data["starts"]:
            instance.queue_task(StatisticsTask(datetime.fromtimestamp(start, UTC), False))
        await instance.async_block_till_done()

    hass.services.async_register(DOMAIN, "record", record)
    hass.services.async_register(DOMAIN, "compile", compile_periods)
    return True
'''
BACKDATE_MANIFEST = (
    '{"domain": "sleepenv_backdate", "name": "sleepenv tests: back-dated states",'
    ' "version": "0.0.1", "dependencies": ["recorder"], "codeowners": [],'
    ' "iot_class": "local_push"}'
)
BACKDATE_FILES = {
    "custom_components/sleepenv_backdate/__init__.py": BACKDATE_INIT,
    "custom_components/sleepenv_backdate/manifest.json": BACKDATE_MANIFEST,
}
BACKDATE_YAML = "sleepenv_backdate:\n"


def dashboard_yaml(url: str) -> str:
    """configuration.yaml lines that load the shipped dashboard at `/url` in YAML mode,
    exactly as the README says (the file goes to dashboards/sleepenv.yaml)."""
    return f"""\
lovelace:
  dashboards:
    {url}:
      mode: yaml
      title: Sleep
      icon: mdi:bed
      show_in_sidebar: true
      filename: dashboards/sleepenv.yaml

# What `default_config:` would load for the dashboard's cards and the Activity page.
history:
logbook:
"""
