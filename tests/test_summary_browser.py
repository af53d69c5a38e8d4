"""The summary page in a real browser (headless Chromium, as in test_web_browser.py): it prints on exactly one
page on A4 and on US Letter for a person with three conditions; for a person with every condition of the
KB it prints on two, broken between items (read from the tagged PDF: tests/pdf_helpers.py); axe-core finds
no violations at 375 and 1280 px, and the matters form works by keyboard alone."""

import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from pdf_helpers import bad_breaks, structure

from advisor import Advisor, summary
from advisor.web.summary_file import summary_html
from test_web_browser import browser_context, chromium, focused, page, server, shots, tab_to  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow  # a real browser

THREE = "/summary?ms_type=spms&severity=severe&condition=heart_failure&condition=cancer&condition=pml"
ANSWERED = THREE + ("&matters=fewer_visits&matters=course_ends&matters=monitoring&avoid=nausea&avoid=PML&avoid=cancer")
THREE_FACTS = {"ms_type": "spms", "severity": "severe", "conditions": ["heart failure", "cancer", "pml"]}
CONDITIONS = [c.id for c in Advisor().kb.conditions]
EVERY = {"ms_type": "spms", "severity": "severe", "prior_failures": 3, "rapidly_worsening": True, "mitoxantrone_cumulative_mg_m2": 100,
         "conditions": CONDITIONS}
ALL_MATTERS = [m.id for m in Advisor().kb.matters]
EVERY_URL = ("/summary?ms_type=spms&severity=severe&prior_failures=3&rapidly_worsening=true&mitoxantrone_cumulative_mg_m2=100"
             + "".join(f"&condition={c}" for c in CONDITIONS) + "".join(f"&matters={m}" for m in ALL_MATTERS))


def pages_in(pdf):
    """How many pages a PDF has: its /Type /Page objects (not the /Pages tree)."""
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_the_summary_prints_on_one_page(page, server, paper, tmp_path):
    page.goto(server + ANSWERED)
    assert page.locator("section.summary").count() == 1
    pdf = page.pdf(format=paper, path=str(tmp_path / f"summary-{paper}.pdf"))
    assert pages_in(pdf) == 1
    page.emulate_media(media="print")  # on paper: no navigation, no form, no buttons; links keep their words only
    for hidden in ("header.site nav", "form.matters", "#print-button", "footer.site"):
        assert not page.locator(hidden).first.is_visible(), hidden
    text = page.locator("section.summary").inner_text()
    assert "http" not in text and "Heart failure, Cancer, PML" in text


def own_questions_pages(pdf):
    """The pages the last heading ("Your own questions") and the lines after it are on."""
    elements, _ = structure(pdf)
    heading = max(n for n, (kind, _, _) in elements.items() if kind.startswith("H"))
    parent = next(e for e in elements.values() if heading in e[2])
    after = parent[2][parent[2].index(heading) + 1]
    return elements[heading][1] | elements[after][1]


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_the_summary_of_every_condition_prints_on_two_pages_broken_between_items(page, server, paper):
    page.goto(server + EVERY_URL)
    questions = page.locator("ul.sum-questions > li")
    assert questions.count() == len(summary(EVERY, matters=ALL_MATTERS).questions) > 20
    pdf = page.pdf(format=paper, tagged=True)
    assert pages_in(pdf) <= 2
    assert bad_breaks(pdf) == []  # no question, row or drug split over two pages, no heading alone at a page's foot
    assert len(own_questions_pages(pdf)) == 1


@pytest.mark.parametrize("paper", ["A4", "Letter"])
@pytest.mark.parametrize("person", ["three conditions", "every condition"])
def test_wherever_the_page_breaks_it_breaks_between_items(page, paper, person):
    """The summary as `ms-advisor summary --format html` writes it, moved down the paper a little at a time,
    so that the page break falls at every place of its lower part (for three conditions: the source, your own
    questions, the questions to ask; for every condition: the questions and what matters to you): never
    inside a question, a row, a drug's cell or the source, never right after a heading."""
    facts, answers = (THREE_FACTS, dict(matters=ALL_MATTERS[:2], avoid=["nausea", "PML"])) if person == "three conditions" else \
        (EVERY, dict(matters=ALL_MATTERS, avoid=["nausea", "PML", "cancer"]))
    html = summary_html(summary(facts, **answers))
    found = {}
    for shift in range(0, 500, 10):
        page.set_content(html.replace("</style>", f"@media print {{ .summary {{ padding-top: {shift}px; }} }}\n</style>"))
        pdf = page.pdf(format=paper, tagged=True)
        found[shift] = bad_breaks(pdf) + ([] if len(own_questions_pages(pdf)) == 1 else ["your own questions split"])
    assert not any(found.values()), {k: v for k, v in found.items() if v}


def test_a_bad_break_would_be_found(page):
    """The check of breaks can fail: a long item split over two pages, a heading left at a page's foot."""
    items = "".join(f"<li>Item {i}: " + "word " * 150 + "</li>" for i in range(12))
    page.set_content(f"<style>li {{ orphans: 1; widows: 1; }}</style><h3>Questions</h3><ul>{items}</ul>")
    assert any(b.startswith("LI") and "split over pages [1, 2]" in b for b in bad_breaks(page.pdf(format="A4", tagged=True)))
    page.set_content("<style>h3 { break-after: page; }</style><p>Before.</p><h3>Your own questions</h3><ol><li>One</li></ol>")
    assert [b for b in bad_breaks(page.pdf(format="Letter", tagged=True)) if b.startswith("H3")][0].endswith("alone at the foot of page 1")
    assert len(own_questions_pages(page.pdf(format="Letter", tagged=True))) == 2


def test_a_long_page_would_be_counted_as_more_than_one(page, server):
    page.goto(server + "/article")  # the check of one page can fail: the whole article is several
    assert pages_in(page.pdf(format="A4")) > 1


@pytest.mark.parametrize("width", [375, 1280])
def test_axe_core_finds_no_violations_on_the_summary(page, server, width):
    from axe_playwright_python.sync_playwright import Axe

    page.set_viewport_size({"width": width, "height": 800})
    report = {}
    for url in (THREE, ANSWERED, THREE + "&matters=cost"):
        page.goto(server + url)
        results = Axe().run(page, options={"resultTypes": ["violations"],
                                           "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa",
                                                                                "best-practice"]}})
        report[url] = [(v["id"], v["impact"], len(v["nodes"])) for v in results.response["violations"]]
    assert all(not v for v in report.values()), report


def test_every_answer_is_a_large_target(page, server):
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(server + THREE)
    for row in page.locator("form.matters .choice").all():
        box = row.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, box


def test_the_matters_form_by_keyboard_alone(page, server):
    page.goto(server + THREE)
    tab_to(page, "answer-fewer_visits-no")  # a radio group is one Tab stop, at its checked answer ("No")
    page.keyboard.press("ArrowLeft")  # arrows move within it and check the answer
    assert focused(page) == "answer-fewer_visits-yes"
    tab_to(page, "answer-course_ends-no")
    page.keyboard.press("ArrowRight")
    assert focused(page) == "answer-course_ends-unsure"
    tab_to(page, "avoid-1")
    page.keyboard.press("Space")  # rash
    tab_to(page, "print-button")  # past the submit button: it is reachable too
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.type") == "submit"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*matters=fewer_visits.*"))
    query = parse_qsl(urlsplit(page.url).query)
    assert ("matters", "fewer_visits") in query and ("matters_unsure", "course_ends") in query
    assert ("avoid", "rash") in query and ("matters", "avoid_side_effect") in query
    assert "Fewer infusion visits: yes" in page.locator("section.summary").inner_text()
    page.evaluate("window.print = () => { window.printed = true; }")
    tab_to(page, "print-button")
    page.keyboard.press("Enter")
    assert page.evaluate("window.printed") is True


def test_screenshot_of_the_printed_summary(page, server, shots):
    """The docs' picture (docs/images/summary.png is a copy of the one this test takes): the page as printed
    on A4, at the width of the paper inside its margins."""
    page.set_viewport_size({"width": 718, "height": 1000})
    page.goto(server + ANSWERED)
    page.emulate_media(media="print")
    path = shots / "summary.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
