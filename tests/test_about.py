"""The page about this information (/about), the KB header fields it reads, and the words the article
explains (rules/terms.toml) marked up on the pages with <dfn> and <abbr>."""

import json
import re
import shutil
import subprocess
import warnings
from html import unescape
from pathlib import Path

import pytest
from click.testing import CliRunner

with warnings.catch_warnings():  # starlette's TestClient prefers httpx2; httpx is what we depend on
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from advisor import Advisor, default_advisor
from advisor.cli import main
from advisor.errors import KnowledgeBaseError
from advisor.kb.source import normalize
from advisor.web import create_app
from test_web_browser import browser_context, chromium, page, server  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parent.parent
HTML = {"accept": "text/html"}
CASE = "/advice?ms_type=relapsing&severity=severe&prior_failures=2&condition=cancer&condition=pml"
SPMS = "/advice?ms_type=spms&severity=severe"


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app(default_advisor()))


def get_html(client, url):
    r = client.get(url, headers=HTML)
    assert r.status_code == 200, (url, r.status_code)
    return r.text


def text_of(html):
    """What a reader reads: the tags dropped, entities read, white space folded."""
    blocks = re.sub(r"</?(?:dt|dd|div|p|li|h\d|ul|dl|section|blockquote|footer)\b[^>]*>", " ", html)
    return " ".join(unescape(re.sub(r"<[^>]+>", "", blocks)).split())


def section(html, ident):
    m = re.search(rf'<section aria-labelledby="{ident}-title">(.*?)</section>', html, re.S)
    assert m, ident
    return m.group(1)


# --- /about ---------------------------------------------------------------------------------------------

def test_the_about_page_states_the_decision_and_what_the_tool_is_and_is_not(client):
    html = get_html(client, "/about")
    decision = text_of(section(html, "decision"))
    assert "Which infusion treatment, if any, to talk about with your MS team." in decision
    # the KB's drugs, in the KB's order
    names = [d.name for d in default_advisor().kb.drugs]
    assert [decision.index(n) for n in names] == sorted(decision.index(n) for n in names)
    what = text_of(section(html, "what"))
    assert "It never advises you to pick one drug over another." in what and "It is not a prescription." in what


def test_the_about_page_gives_the_source_its_date_when_it_was_taken_and_the_kb_identity(client):
    kb = default_advisor().kb
    html = get_html(client, "/about")
    source = section(html, "source")
    assert '<a href="/article">' + kb.header.source_title in source
    assert text_of(re.search(r'id="source-date">(.*?)</dd>', source).group(1)) == "The article carries no date."
    assert text_of(re.search(r'id="taken-on">(.*?)</dd>', source).group(1)) == "25 November 2026"
    version = text_of(section(html, "version"))
    assert kb.sha256 in version and f"Version {kb.header.version}" in version
    who = text_of(section(html, "who"))
    assert "Made by the ms-infusion-advisor project" in who and "Funding No one funds it." in who


def test_the_copy_was_taken_on_the_day_the_article_entered_the_project():
    """Not a date made up: the first commit of the source file (where the checkout has its history)."""
    git = shutil.which("git")
    source = "rules/sources/ms-infusions.txt"
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    r = subprocess.run([git, "log", "--diff-filter=A", "--format=%ad", "--date=short", "--", source],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    if r.returncode != 0 or not r.stdout.strip():
        pytest.skip("the checkout's history does not reach the source's first commit")
    assert str(default_advisor().kb.header.source_taken_on) == r.stdout.split()[-1]


def test_the_review_count_follows_the_rules_review_fields(kb_copy):
    before = get_html(TestClient(create_app(Advisor(kb_copy))), "/about")
    assert "Rules reviewed and approved so far: 0 of 36." in text_of(section(before, "review"))
    decisions = kb_copy / "decisions.toml"
    text = decisions.read_text(encoding="utf-8")
    first = text.index("[[rule]]") + len("[[rule]]\n")
    decisions.write_text(text[:first] + 'review_status = "approved"\nreviewed_by = "A reviewer"\nreviewed_on = 2026-12-01\n'
                         + text[first:], encoding="utf-8")
    after = get_html(TestClient(create_app(Advisor(kb_copy))), "/about")
    review = text_of(section(after, "review"))
    assert "Rules reviewed and approved so far: 1 of 36." in review
    assert "--require-approved" in review  # how a reviewer holds the KB to it


def drop_about_fields(kb_copy):
    kb = kb_copy / "kb.toml"
    lines = [line for line in kb.read_text(encoding="utf-8").splitlines()
             if not line.startswith(("source_origin", "source_date", "source_taken_on", "review_policy", "made_by", "funding"))]
    kb.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_kb_that_does_not_record_the_facts_says_not_recorded_never_a_guess(kb_copy):
    drop_about_fields(kb_copy)
    html = get_html(TestClient(create_app(Advisor(kb_copy))), "/about")
    assert text_of(re.search(r'id="source-date">(.*?)</dd>', html).group(1)) == "Not recorded."
    assert text_of(re.search(r'id="taken-on">(.*?)</dd>', html).group(1)) == "Not recorded."
    assert text_of(section(html, "who")) == "Who made it, and who pays for it Made by Not recorded. Funding Not recorded."
    assert "carries no date" not in html and "No one funds it" not in html


@pytest.mark.parametrize("line, field", [('source_date = "yesterday"', "source_date"),
                                         ('source_taken_on = "last week"', "source_taken_on"),
                                         ('made_by = ""', "made_by"), ('funded = "someone"', "funded")])
def test_a_bad_header_field_is_refused_at_load_naming_it(kb_copy, line, field):
    drop_about_fields(kb_copy)
    kb = kb_copy / "kb.toml"
    text = kb.read_text(encoding="utf-8")
    at = text.index("\n[numbers.")
    kb.write_text(text[:at] + "\n" + line + text[at:], encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as e:
        Advisor(kb_copy)
    assert "kb.toml" in str(e.value) and field in str(e.value)


def test_kb_info_shows_the_header_fields():
    kb = default_advisor().kb
    r = CliRunner().invoke(main, ["kb", "info", "--format", "json"])
    assert r.exit_code == 0, r.output
    info = json.loads(r.output)
    assert info["source_date"] == "undated" and info["source_taken_on"] == "2026-11-25"
    assert info["made_by"] == kb.header.made_by and info["funding"] == "No one funds it."
    assert info["review_policy"] == kb.header.review_policy and info["terms"] == len(kb.terms)
    text = CliRunner().invoke(main, ["kb", "info"], env={"COLUMNS": "100"}).output
    assert "source_taken_on: 2026-11-25" in text and "funding: No one funds it." in text


@pytest.mark.parametrize("url", ["/", CASE, "/article", "/drugs", "/rules", "/schedule/natalizumab", "/about"])
def test_every_page_links_the_about_page_from_its_footer(client, url):
    footer = get_html(client, url).split('<footer class="site">')[1]
    assert '<a href="/about"' in footer and "About this information" in footer


# --- the words the article explains ----------------------------------------------------------------------

def test_every_term_is_quoted_from_the_article_under_its_section():
    kb = default_advisor().kb
    ids = {t.id for t in kb.terms}
    assert {"flushing", "infusion_reaction", "pml", "chf", "wbc", "uti"} <= ids
    source = normalize(kb.source_text)
    for t in kb.terms:
        assert normalize(t.quote) in source, t.id
        if t.abbreviation:
            assert t.abbreviation in t.quote and t.term.casefold() in normalize(t.quote).casefold(), t.id
    assert kb.terms[0].quote == "flushing, or the reddening and warming of your skin"


def dfns(html):
    return {m.group(1): (m.group(2), m.group(3)) for m in re.finditer(r'<dfn id="term-(\w+)" title="([^"]*)">(.*?)</dfn>', html)}


def test_the_advice_page_marks_each_term_at_its_first_use_with_the_articles_words(client):
    html = get_html(client, CASE)
    found = dfns(html)
    # titled with the article's own words
    assert found["flushing"] == ("flushing, or the reddening and warming of your skin", "flushing")
    assert found["infusion_reaction"][0] == "This is a drug reaction on your skin."
    assert found["pml"][0] == "a rare and deadly brain infection called progressive multifocal leukoencephalopathy (PML)"
    assert found["uti"][1] == "urinary tract infection"
    # each term defined once on the page (first use); later uses of an abbreviation are <abbr>
    assert all(html.count(f'id="term-{t}"') == 1 for t in found)
    assert html.count('<abbr title="progressive multifocal leukoencephalopathy">PML</abbr>') >= 2
    assert '<abbr title="urinary tract infection">UTI</abbr>' in html


def test_the_drugs_page_marks_the_terms_of_every_drug(client):
    found = dfns(get_html(client, "/drugs"))
    assert {"wbc", "lymphocytes", "immunosuppressant", "chf", "amenorrhea", "myelin", "pml", "uti"} <= set(found)
    assert found["amenorrhea"] == ("amenorrhea, or a lack of menstrual periods", "amenorrhea")


def test_a_term_inside_a_quote_is_only_wrapped_the_quote_stays_verbatim(client):
    html = get_html(client, SPMS)
    kb = default_advisor().kb
    quotes = [q for q in re.findall(r'<blockquote class="quote" lang="en">\s*<p>“(.*?)”</p>', html, re.S)]
    marked = [q for q in quotes if "<dfn" in q or "<abbr" in q]
    assert any("<abbr" in q and "SPMS" in q for q in marked) and any("CHF" in q for q in marked)
    for q in marked:  # what is read is the KB's quote, word for word
        assert any(text_of(q) == " ".join(k.split()) for k in quoted_texts(kb)), text_of(q)


def quoted_texts(kb):
    for r in (*kb.rules, *kb.cautions, *kb.notes):
        for q in (r, *getattr(r, "also", ())):
            if q.quote:
                yield q.quote
    for d in kb.drugs:
        yield from (d.how_it_works.quote, d.schedule.quote, *(a.quote for a in d.about))
        for q in (d.side_effects.serious_label, d.side_effects.after):
            if q:
                yield q.quote


def test_the_about_page_lists_every_term_with_the_articles_words(client):
    html = get_html(client, "/about")
    terms = section(html, "terms")
    article = get_html(client, "/article")
    for t in default_advisor().kb.terms:
        item = re.search(rf'<div id="about-term-{t.id}">(.*?)</div>', terms, re.S).group(1)
        assert " ".join(t.quote.split()) in text_of(item), t.id
        anchor = re.search(r'<a href="/article#([\w-]+)">Read it in the article</a>', item).group(1)  # lands on it
        assert f'id="{anchor}"' in article, t.id


def test_terms_are_matched_as_whole_words_abbreviations_exactly(client):
    site = client.app.state.site
    mark = site.terms.mark
    assert str(mark("PMLX and xPML and pml")) == "PMLX and xPML and pml"
    assert str(mark("Flushing")) == "Flushing"  # outside a page: no <dfn> (no first use to keep)
    with site.terms.page():  # words case-blind, the first use only
        assert str(mark("Flushing, then flushing")) == \
            '<dfn id="term-flushing" title="flushing, or the reddening and warming of your skin">Flushing</dfn>, then flushing'
        assert str(mark("PML or PML")) == ('<dfn id="term-pml" title="a rare and deadly brain infection called progressive multifocal '
                                           'leukoencephalopathy (PML)"><abbr title="progressive multifocal leukoencephalopathy">'
                                           'PML</abbr></dfn> or <abbr title="progressive multifocal leukoencephalopathy">PML</abbr>')
    with site.terms.page():  # a new page defines the term again
        assert str(mark("flushing")).startswith('<dfn id="term-flushing"')


def with_terms(kb_copy, extra):
    terms = kb_copy / "terms.toml"
    terms.write_text(terms.read_text(encoding="utf-8") + "\n" + extra, encoding="utf-8")


@pytest.mark.parametrize("extra, message", [
    ('[[term]]\nid = "rash"\nterm = "rash"\nquote = "a rash of red skin"\nsection = "Side Effects of the Drugs"\n',
     "quote not found verbatim"),
    ('[[term]]\nid = "hives"\nterm = "hives"\nquote = "hives"\nsection = "Alemtuzumab (Lemtrada)"\n', "not under section"),
    ('[[term]]\nid = "cns2"\nterm = "central brain system"\nabbreviation = "CNS"\nquote = "central nervous system (CNS)"\n'
     'section = "Multiple Sclerosis Infusions"\n', "does not spell out"),
    ('[[term]]\nid = "ms"\nterm = "multiple sclerosis"\nabbreviation = "MSX"\nquote = "Multiple sclerosis Infusions"\n'
     'section = "Multiple Sclerosis Infusions"\n', "does not stand in the quote"),
    ('[[term]]\nid = "uti_again"\nterm = "UTI"\nquote = "urinary tract infection (UTI)"\n'
     'section = "Side Effects of the Drugs"\n', "duplicate term word"),
    ('[[term]]\nid = "chills"\nterm = "chills"\nforms = ["c"]\nquote = "chills"\n'
     'section = "Side Effects of the Multiple sclerosis Infusions"\n', "each form is 2 to 80 characters"),
])
def test_a_bad_term_is_refused_at_load(kb_copy, extra, message):
    with_terms(kb_copy, extra)
    with pytest.raises(KnowledgeBaseError) as e:
        Advisor(kb_copy)
    assert "terms.toml" in str(e.value) and message in str(e.value)


def test_a_kb_without_terms_toml_loads_and_its_pages_mark_nothing(kb_copy):
    (kb_copy / "terms.toml").unlink()
    advisor = Advisor(kb_copy)
    assert advisor.kb.terms == ()
    client = TestClient(create_app(advisor))
    for url in (CASE, "/drugs", "/about"):
        html = get_html(client, url)
        assert "<dfn" not in html and "<abbr" not in html, url


def test_markup_around_and_in_a_term_stays_escaped(kb_copy):
    """A --rules-dir KB whose texts and term quotes (and so its source) carry markup: the term is wrapped,
    the markup is shown as text."""
    drugs = kb_copy / "drugs.toml"
    text = drugs.read_text(encoding="utf-8")
    old = '{ text = "UTI", quote = "UTI" }'
    assert old in text
    drugs.write_text(text.replace(old, '{ text = "<i>UTI</i><script>x()</script>", quote = "UTI" }'), encoding="utf-8")
    matters = kb_copy / "matters.toml"  # its side-effect choice names the effect by its text
    text = matters.read_text(encoding="utf-8")
    assert '"urinary tract infection (UTI)", "UTI"]' in text
    matters.write_text(text.replace('"urinary tract infection (UTI)", "UTI"]',
                                    '"urinary tract infection (UTI)", "<i>UTI</i><script>x()</script>"]'), encoding="utf-8")
    sentence, marked = "Flare-ups are the periods when you have symptoms.", 'Flare-ups are the "periods" <b>when</b> & symptoms.'
    for name in ("sources/ms-infusions.txt", "terms.toml"):
        path = kb_copy / name
        text = path.read_text(encoding="utf-8")
        assert sentence in text
        path.write_text(text.replace(sentence, marked.replace('"', '\\"') if name == "terms.toml" else marked), encoding="utf-8")
    client = TestClient(create_app(Advisor(kb_copy)))
    html = get_html(client, SPMS)
    assert re.search(r'&lt;i&gt;(<dfn id="term-uti" title="urinary tract infection \(UTI\)">)?<abbr title="urinary tract infection">UTI</abbr>'
                     r'(</dfn>)?&lt;/i&gt;&lt;script&gt;x\(\)&lt;/script&gt;', html)
    assert "<script>x()" not in html
    drugs_page = get_html(client, "/drugs")  # mitoxantrone's "flare-up" is titled with the marked-up quote
    assert 'title="Flare-ups are the &#34;periods&#34; &lt;b&gt;when&lt;/b&gt; &amp; symptoms."' in drugs_page
    assert "<b>when" not in drugs_page


# --- in a real browser (the fixtures of tests/test_web_browser.py: the distribution's Chromium, the pages served) ---

@pytest.mark.slow
@pytest.mark.parametrize("width", [375, 1280])
def test_axe_core_finds_no_violations_on_the_about_page_and_the_marked_terms(page, server, width):
    from axe_playwright_python.sync_playwright import Axe

    page.set_viewport_size({"width": width, "height": 800})
    report = {}
    for url in ("/about", CASE, "/drugs"):
        page.goto(server + url)
        results = Axe().run(page, options={"resultTypes": ["violations"],
                                           "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa",
                                                                                "best-practice"]}})
        report[url] = [(v["id"], v["impact"], len(v["nodes"])) for v in results.response["violations"]]
    assert page.locator("dfn#term-pml").count() == 1  # the last page: the drugs page marks its terms
    # no sideways scrolling at a phone's width
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert all(not v for v in report.values()), report
