"""The pages in a real browser: the distribution's headless Chromium, driven by Playwright for Python.

Playwright is launched with the distribution's executable (never its own browser download). axe-core
comes from the axe-playwright-python package, which ships axe.min.js. Without a browser these tests
skip with the reason when run locally, and fail under CI (CI=true), where .ci/browser-setup installs it.
Screenshots go to the test run's temporary folder (pytest's basetemp, under "screenshots/").
"""

import os
import shutil
import socket
import threading
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from advisor import default_advisor

pytestmark = pytest.mark.slow  # a real browser

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
CASE = "/advice?ms_type=relapsing&severity=severe&prior_failures=2&condition=cancer&condition=pml"


def _missing(reason):
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests cannot run under CI: {reason} (.ci/browser-setup installs it)")
    pytest.skip(reason)


def _chromium():
    """The browser: $CHROMIUM when set (only that), else the distribution's."""
    chosen = os.environ.get("CHROMIUM")
    for candidate in ([chosen] if chosen else ["/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")]):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="module")
def server():
    """The pages on a free loopback port (uvicorn in a thread), stopped after the module."""
    import uvicorn

    from advisor.web import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    srv = uvicorn.Server(uvicorn.Config(create_app(default_advisor()), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    """A function that launches the distribution's Chromium with a new, empty profile."""
    executable = _chromium()
    if executable is None:
        _missing("no Chromium found (apt-get install chromium, or set CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright for Python is not installed (pip install '.[test]')")
    with sync_playwright() as p:
        def launch(**options):
            profile = tmp_path_factory.mktemp("chromium-profile")  # a new, empty user-data-dir
            options = {"viewport": {"width": 1024, "height": 800}, "accept_downloads": True, **options}
            return p.chromium.launch_persistent_context(str(profile), executable_path=executable, headless=True,
                                                        args=CHROMIUM_FLAGS, **options)
        yield launch


@pytest.fixture(scope="module")
def browser_context(chromium):
    context = chromium()
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(browser_context, server):
    page = browser_context.new_page()
    blocked = []
    # no request may leave loopback (no font, script or CDN from elsewhere)
    page.on("request", lambda r: blocked.append(r.url) if not r.url.startswith((server, "data:", "about:")) else None)
    errors = []
    # a page's own 404 or 422 is expected; any other console error (a CSP violation shows there) is not
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 and r.request.resource_type != "document" else None)
    yield page
    page.close()
    assert blocked == [], f"requests outside the app: {blocked}"
    assert errors == [], f"console errors or failed resources: {errors}"


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = tmp_path_factory.getbasetemp() / "screenshots"
    folder.mkdir(exist_ok=True)
    return folder


def statuses(page):
    return {el.get_attribute("data-drug"): el.get_attribute("data-status") for el in page.query_selector_all("[data-drug][data-status]")}


def focused(page):
    return page.evaluate("document.activeElement && (document.activeElement.id || document.activeElement.tagName)")


def tab_to(page, element_id, limit=80):
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused(page) == element_id:
            return
    raise AssertionError(f"Tab never reached #{element_id}")


def test_fill_and_submit_the_form_by_keyboard_alone(page, server):
    page.goto(server + "/")
    tab_to(page, "ms_type-relapsing")
    # focus is visible: the focused radio has an outline
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("ArrowDown")  # radio group: arrows move and select
    assert focused(page) == "ms_type-spms"
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Space")
    assert page.is_checked("#ms_type-relapsing")
    page.keyboard.press("Tab")
    assert focused(page).startswith("severity-")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Space")
    assert page.is_checked("#severity-severe")
    tab_to(page, "prior_failures")
    page.keyboard.press("Control+A")
    page.keyboard.type("2")
    tab_to(page, "rapidly_worsening")
    page.keyboard.press("Space")
    tab_to(page, "condition-cancer")
    page.keyboard.press("Space")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # Enter in a form submits it
    url = urlsplit(page.url)
    assert url.path == "/advice"
    query = parse_qsl(url.query)
    assert ("ms_type", "relapsing") in query and ("severity", "severe") in query and ("prior_failures", "2") in query
    assert ("rapidly_worsening", "true") in query and ("condition", "cancer") in query
    from advisor import advise

    rec = advise({"ms_type": "relapsing", "severity": "severe", "prior_failures": 2, "rapidly_worsening": True,
                  "conditions": ["cancer"]})
    assert statuses(page) == {d.drug: d.status.value for d in rec.drugs}
    # a link focused by keyboard is visibly marked
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") == "A"
    style = page.evaluate("(() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.backgroundColor]; })()")
    assert style[0] != "none" and style[1] != "rgba(0, 0, 0, 0)"


def test_without_javascript_the_form_the_i_dont_know_path_and_what_ifs_work(chromium, server):
    """Everything works with scripting off: a second browser profile with JavaScript disabled."""
    nojs = chromium(java_script_enabled=False)
    try:
        page = nojs.new_page()
        page.goto(server + "/")
        page.check("#ms_type-unknown")
        page.check("#severity-moderate")
        page.fill("#prior_failures", "1")
        with page.expect_navigation():
            page.click("text=Show the advice")
        assert page.locator("[data-drug]").count() == 0
        assert "does not guess" in page.inner_text("main")
        with page.expect_navigation():
            page.click("text=See the advice if it were Primary progressive MS (PPMS)")
        assert statuses(page)["ocrelizumab"] == "applicable"
        what_if = page.locator('[data-drug="alemtuzumab"] .what-if a').first
        with page.expect_navigation():
            what_if.click()
        assert statuses(page)["alemtuzumab"] in ("applicable", "consider")
        page.goto(server + "/advice?ms_type=ppms&severity=mild&prior_failures=x")
        assert "whole number" in page.inner_text("#field-prior_failures")
    finally:
        nojs.close()


def test_the_skip_link_leads_to_the_content(page, server):
    page.goto(server + CASE)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    assert page.is_visible(".skip")
    page.keyboard.press("Enter")
    assert focused(page) == "main"


def test_bad_facts_come_back_with_the_problem_focused_and_next_to_its_field(page, server):
    response = page.goto(server + "/advice?ms_type=ppms&severity=mild&prior_failures=lots")
    assert response.status == 422
    assert focused(page) == "error-summary"  # the little script moves focus to the summary
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert urlsplit(page.url).fragment == "field-prior_failures"
    assert "whole number" in page.inner_text("#field-prior_failures")


def test_a_what_if_link_changes_the_status(page, server):
    page.goto(server + "/advice?ms_type=relapsing&severity=mild&prior_failures=1")
    before = statuses(page)
    assert before["alemtuzumab"] == "not_applicable"
    link = page.locator('[data-drug="alemtuzumab"] .what-if a').first
    assert "prior treatment failures" in link.inner_text()
    link.click()
    page.wait_for_load_state()
    assert statuses(page)["alemtuzumab"] in ("applicable", "consider")
    assert dict(parse_qsl(urlsplit(page.url).query))["prior_failures"] == "2"
    assert page.locator('[data-drug="alemtuzumab"]').evaluate("e => e.closest('section[aria-labelledby=\"listed-title\"]') !== null")


def test_a_quote_link_lands_on_the_highlighted_passage(page, server):
    page.goto(server + CASE)
    link = page.locator('[data-drug="alemtuzumab"] .reasons blockquote a').first
    quote = page.locator('[data-drug="alemtuzumab"] .reasons blockquote p').first.inner_text().strip("“”")
    link.click()
    page.wait_for_load_state()
    url = urlsplit(page.url)
    assert url.path == "/article" and url.fragment.startswith("q-")
    target = page.locator(f"#{url.fragment}")
    assert target.evaluate("e => e.matches(':target') && e.tagName") == "MARK"
    assert target.inner_text() == quote
    box = target.bounding_box()
    viewport = page.viewport_size
    assert box and 0 <= box["y"] < viewport["height"], box  # scrolled into view
    colour = target.evaluate("e => getComputedStyle(e).backgroundColor")
    plain = page.locator("mark.quote:not(:target)").first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour != plain  # the landed-on passage stands out from the other quotes
    assert "current" in target.get_attribute("class")


def test_the_ics_downloads(page, server, tmp_path):
    page.goto(server + "/schedule/ocrelizumab?start=2027-01-04&count=6")
    assert page.locator("table.dates tbody tr").count() == 6  # count is the number of infusions: two initial ones, then four every 6 months
    with page.expect_download() as info:
        page.click("text=Download these dates as a calendar file")
    download = info.value
    assert download.suggested_filename == "ocrelizumab-2027-01-04.ics"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("BEGIN:VCALENDAR") and text.count("BEGIN:VEVENT") == 6
    assert "DTSTART;VALUE=DATE:20270104" in text and "DTSTART;VALUE=DATE:20270118" in text


def test_phone_width_375(page, server, shots):
    page.set_viewport_size({"width": 375, "height": 740})
    for name, url in (("advice-375", CASE), ("form-375", "/"), ("article-375", "/article"), ("rules-375", "/rules")):
        page.goto(server + url)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{url} scrolls sideways at 375 px ({width} px wide)"
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    page.goto(server + CASE)
    assert page.locator("[data-drug]").first.bounding_box()["width"] <= 375


def test_print_layout_has_no_form_and_no_navigation(page, server, shots):
    page.goto(server + CASE)
    page.emulate_media(media="print")
    assert not page.is_visible("header.site nav")
    assert not page.is_visible("text=Change these facts")
    assert page.is_visible("[data-drug='alemtuzumab']") and page.is_visible(".disclaimer")
    page.screenshot(path=str(shots / "advice-print.png"), full_page=True)
    page.pdf(path=str(shots / "advice-print.pdf"))  # Chromium's own print to paper
    page.goto(server + "/")
    assert not page.is_visible("form")
    page.emulate_media(media="screen")


def test_screenshot_of_the_advice_page(page, server, shots):
    """The README's picture (docs/advice-page.png is a copy of the one this test takes)."""
    page.set_viewport_size({"width": 900, "height": 800})
    page.goto(server + CASE)
    path = shots / "advice-page.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000


def badge_look(page, drug):
    """A status badge's colours, border and symbol as the browser renders them."""
    return page.evaluate("""(drug) => {
        const badge = document.querySelector(`[data-drug="${drug}"] .badge`);
        const s = getComputedStyle(badge), b = getComputedStyle(badge, '::before');
        return {colour: s.color, background: s.backgroundColor, border: s.borderTopStyle, radius: s.borderTopLeftRadius,
                symbol: b.content, text: badge.textContent.trim()};
    }""", drug)


def test_each_status_has_its_own_look_in_colour_shape_and_text(page, server, shots):
    """WCAG 1.4.1: a status is told apart by its colour, its badge's border and symbol, and its words; the
    look follows the status id (data-status), so a status the KB adds gets a defined look of its own."""
    page.goto(server + "/advice?ms_type=spms&severity=severe&mitoxantrone_cumulative_mg_m2=140")
    looks = {status: badge_look(page, drug) for drug, status in statuses(page).items()}
    assert {"no_criteria", "excluded", "not_applicable"} <= set(looks), looks  # natalizumab: no criteria (issue 20)
    page.goto(server + CASE)
    looks.update({status: badge_look(page, drug) for drug, status in statuses(page).items()})
    assert {"applicable", "consider"} <= set(looks), looks
    # a status no stylesheet names
    for status in ("a_new_status",):
        page.evaluate("""(status) => { const s = document.querySelector('[data-drug="alemtuzumab"]').cloneNode(true);
            s.dataset.drug = status; s.dataset.status = status; document.querySelector('main').appendChild(s); }""", status)
        looks[status] = badge_look(page, status)
    named = {k: v for k, v in looks.items() if k != "a_new_status"}
    assert len({(v["colour"], v["background"]) for v in named.values()}) == len(named), looks
    assert len({(v["border"], v["radius"], v["symbol"]) for v in named.values()}) == len(named), looks
    rendered = [v for k, v in looks.items() if k != "a_new_status"]  # the clone keeps a copied text
    assert len({v["text"] for v in rendered}) == len(rendered) == 5, looks
    assert looks["no_criteria"]["colour"] != looks["excluded"]["colour"] and "red" not in looks["no_criteria"]["colour"]
    assert looks["a_new_status"]["symbol"] not in ("none", "normal", "") and looks["a_new_status"]["border"] != "none"
    assert page.locator("text=status: applicable").count() == 0 and page.locator(".status code").count() == 0
    page.locator(".status").first.screenshot(path=str(shots / "badge.png"))


AXE_PAGES = ["/", CASE, "/advice?ms_type=ppms&severity=mild", "/advice?ms_type=unknown&severity=severe",
             "/advice?ms_type=x&severity=&prior_failures=-1&condition=nope", "/article", "/article#q-0", "/drugs", "/rules",
             "/schedule/natalizumab?start=2027-01-04", "/schedule/natalizumab?start=2027-02-30", "/schedule/none",
             "/schedule/mitoxantrone?start=2027-01-31&mitoxantrone_cumulative_mg_m2=100",
             "/schedule/mitoxantrone?start=2027-01-31&mitoxantrone_cumulative_mg_m2=100&count=4",
             "/advice?ms_type=spms&severity=severe&mitoxantrone_cumulative_mg_m2=140",
             "/advice?ms_type=rrms&severity=Severe&prior_failures=two&condition=heart_failure",
             "/schedule/mitoxantrone?start=2027-01-31&mitoxantrone_cumulative_mg_m2=ten&extra=1"]


@pytest.mark.parametrize("width", [1024, 375])
def test_axe_core_finds_no_violations(page, server, width):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    page.set_viewport_size({"width": width, "height": 800})
    report = {}
    for url in AXE_PAGES:
        page.goto(server + url)
        results = axe.run(page, options={"resultTypes": ["violations"],
                                         "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa",
                                                                              "best-practice"]}})
        report[url] = [(v["id"], v["impact"], len(v["nodes"])) for v in results.response["violations"]]
    print(f"axe-core {results.response['testEngine']['version']} at {width} px: " +
          ", ".join(f"{u}: {len(v)}" for u, v in report.items()))
    assert all(not v for v in report.values()), report


def test_axe_core_does_report_a_violation_it_should(page, server):
    """The checker itself works here: an unlabelled input and low contrast are reported."""
    from axe_playwright_python.sync_playwright import Axe

    page.goto(server + "/")
    page.evaluate("""() => {
        const i = document.createElement('input'); i.type = 'text'; document.querySelector('main').appendChild(i);
        const p = document.createElement('p'); p.textContent = 'faint'; p.style.color = '#ddd';
        document.querySelector('main').appendChild(p); }""")
    ids = {v["id"] for v in Axe().run(page).response["violations"]}
    assert {"label", "color-contrast"} <= ids, ids


@pytest.mark.parametrize("ci, outcome", [("true", "1 error"), ("", "1 skipped")])
def test_without_a_browser_these_tests_fail_under_ci_and_skip_elsewhere(tmp_path, ci, outcome):
    import subprocess
    import sys

    env = {**os.environ, "CHROMIUM": str(tmp_path / "no-chromium"), "CI": ci}
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp", str(tmp_path / "run"),
                        f"{__file__}::test_the_skip_link_leads_to_the_content"],
                       env=env, capture_output=True, text=True, timeout=120, cwd=Path(__file__).parent.parent)
    assert outcome in r.stdout, r.stdout[-2000:]
    assert (r.returncode != 0) == (ci == "true")  # an error in the browser fixture fails the run
    assert ("cannot run under CI" if ci else "no Chromium found") in r.stdout + r.stderr


AID_PAGES = ["/advice?ms_type=spms&severity=severe&rapidly_worsening=true&condition=heart_failure",
             "/compare?ms_type=spms&severity=severe&condition=heart_failure&matters=fewer_visits&avoid=nausea",
             "/summary?ms_type=spms&severity=severe&condition=heart_failure&matters=fewer_visits", "/drugs", "/about", "/rules"]


@pytest.mark.parametrize("path", AID_PAGES)
@pytest.mark.parametrize("width", [375, 1280])
def test_tabbing_through_a_page_never_hides_the_focused_control(page, server, path, width):
    """WCAG 2.2 focus not obscured: each control Tab reaches is on screen and on top (nothing covers its
    middle), at a phone's width and a desktop's."""
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(server + path)
    seen = 0
    for _ in range(60):
        page.keyboard.press("Tab")
        state = page.evaluate("""() => {
            const el = document.activeElement;
            if (!el || el === document.body) return null;
            const r = el.getBoundingClientRect();
            const x = r.left + r.width / 2, y = r.top + r.height / 2;
            const top = document.elementFromPoint(x, y);
            return {inside: r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth,
                    onTop: !!top && (top === el || el.contains(top) || top.contains(el)), what: el.outerHTML.slice(0, 80)};
        }""")
        if state is None:
            break
        seen += 1
        assert state["inside"] and state["onTop"], (path, width, state["what"])
    assert seen >= 3, (path, seen)


@pytest.mark.parametrize("path", AID_PAGES)
@pytest.mark.parametrize("width", [375, 1280])
def test_every_control_is_a_target_of_24_px_or_more(page, server, path, width):
    """WCAG 2.2 target size (minimum): every button, field and link that is not a link inside a sentence
    (the menu's links included) is at least 24 by 24 CSS pixels."""
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(server + path)
    small = page.evaluate("""() => [...document.querySelectorAll('a, button, input, select, textarea, summary')]
        .filter(el => el.offsetParent !== null && el.type !== 'hidden')
        .filter(el => !(el.tagName === 'A' && getComputedStyle(el).display === 'inline' && !el.closest('nav')))
        .map(el => { const r = el.getBoundingClientRect(); const label = el.labels && el.labels[0] ? el.labels[0].getBoundingClientRect() : null;
                     const h = Math.max(r.height, label ? label.height : 0), w = Math.max(r.width, label ? label.width : 0);
                     return {h, w, what: el.outerHTML.slice(0, 80)}; })
        .filter(t => t.w < 24 || t.h < 24)""")
    assert small == [], (path, width, small[:5])


@pytest.mark.parametrize("path", AID_PAGES)
def test_every_quote_on_a_page_says_it_is_english(page, server, path):
    """The article's words are marked lang="en" wherever they stand, so a translated page or a screen
    reader set to another language still reads them as English."""
    page.goto(server + path)
    quotes = page.locator("q, blockquote")
    assert quotes.count() >= 1 or path in ("/about",), path
    for i in range(quotes.count()):
        assert quotes.nth(i).evaluate("el => el.closest('[lang]').getAttribute('lang')") == "en"
        assert quotes.nth(i).get_attribute("lang") == "en", (path, quotes.nth(i).evaluate("el => el.outerHTML.slice(0, 80)"))
