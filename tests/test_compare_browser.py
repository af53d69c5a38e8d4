"""The compare page in a real browser (the distribution's headless Chromium, as in test_web_browser.py):
no accessibility violations at phone and desktop widths, one block per drug at 375 px with no sideways
scrolling, and every control reachable with Tab alone, its focus visible."""

import pytest

from test_web_browser import browser_context, chromium, page, server, shots  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow  # a real browser

FACTS = "/compare?ms_type=relapsing&severity=severe&prior_failures=2&condition=cancer"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@pytest.mark.parametrize("width", [375, 1280])
def test_axe_finds_no_violations_on_the_compare_page(page, server, width):  # noqa: F811
    from axe_playwright_python.sync_playwright import Axe

    page.set_viewport_size({"width": width, "height": 800})
    report = {}
    for url in ("/compare", FACTS, "/compare?drug=natalizumab&drug=ocrelizumab", "/compare?drug=natalizumab",
                FACTS + "&matters=fewer_visits&matters_unsure=monitoring&avoid=nausea"):
        page.goto(server + url)
        results = Axe().run(page, options={"resultTypes": ["violations"], "runOnly": {"type": "tag", "values": AXE_TAGS}})
        report[url] = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in results.response["violations"]]
    assert all(not v for v in report.values()), report


def test_at_375_px_one_block_per_drug_and_no_sideways_scrolling(page, server, shots):  # noqa: F811
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(server + FACTS)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    # each drug's heading, then that drug's cells, in the rows' order, before the next drug's heading
    tops = page.evaluate("""() => [...document.querySelectorAll('.compare-grid [data-drug]')].map(
        e => [e.dataset.drug, e.dataset.row || 'head', e.getBoundingClientRect().top, e.getBoundingClientRect().width])""")
    order = [drug for drug, _, _, _ in sorted(tops, key=lambda t: t[2])]
    blocks = [d for k, d in enumerate(order) if k == 0 or order[k - 1] != d]
    assert blocks == ["alemtuzumab", "natalizumab", "mitoxantrone", "ocrelizumab"]
    assert all(w <= 375 for _, _, _, w in tops)
    # every link in the grid is a target of at least 24 by 24 px
    small = page.evaluate("""() => [...document.querySelectorAll('.compare-grid a, .compare-grid summary')].filter(a => {
        const r = a.getBoundingClientRect(); return r.height < 24 || r.width < 24; }).map(a => a.textContent)""")
    assert small == []
    page.screenshot(path=str(shots / "compare-375.png"), full_page=True)


def test_every_control_is_reachable_by_tab_with_visible_focus(page, server):  # noqa: F811
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(server + FACTS)
    # a radio group is one Tab stop (its other choices are reached with the arrow keys): named by the group
    key = "e => e.type === 'radio' ? 'radio:' + e.name : (e.id || e.getAttribute('href') || e.textContent.trim())"
    wanted = set(page.evaluate(f"""() => [...document.querySelectorAll('main a[href], main input, main button, main summary')]
        .filter(e => e.offsetParent !== null && e.type !== 'hidden').map({key})"""))
    reached = set()
    for _ in range(400):
        page.keyboard.press("Tab")
        info = page.evaluate(f"""() => {{ const e = document.activeElement; if (!e || e === document.body) return null;
            const s = getComputedStyle(e); return [({key})(e), s.outlineStyle,
            s.backgroundColor, !!e.closest('main')]; }}""")
        if info is None:
            continue
        name, outline, background, in_main = info
        if in_main:
            assert outline != "none" or background != "rgba(0, 0, 0, 0)", f"{name}: focus not visible"
            reached.add(name)
        if name == "Compare" or (reached >= wanted):
            break
    assert wanted - reached == set(), wanted - reached
    # the form submits by keyboard: Enter on the button
    page.focus("#drug-alemtuzumab")
    page.keyboard.press("Space")  # untick alemtuzumab
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("th[scope=col][data-drug]").evaluate_all("els => els.map(e => e.dataset.drug)") == \
        ["natalizumab", "mitoxantrone", "ocrelizumab"]


def test_screenshot_of_the_compare_page(page, server, shots):  # noqa: F811
    """The docs' picture (docs/images/compare.png is a copy of the one this test takes): the top of
    /compare at 1280 px for relapsing, severe MS after two medications that did not work, with cancer."""
    page.set_viewport_size({"width": 1280, "height": 1500})
    page.goto(server + "/compare?ms_type=relapsing&severity=severe&prior_failures=2&condition=cancer")
    path = shots / "compare.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
