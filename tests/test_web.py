"""The web pages, in process: what a person, an integrator and an attacker see (no browser here;
tests/test_web_browser.py drives a real one)."""

import re
import warnings
from configparser import ConfigParser
from datetime import date
from fnmatch import fnmatch
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

with warnings.catch_warnings():  # starlette's TestClient prefers httpx2; httpx is what we depend on
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from advisor import Advisor, PatientFacts, advise, default_advisor
from advisor.kb.source import normalize
from advisor.schedule import infusions
from advisor.web import create_app, kbinfo

ROOT = Path(__file__).resolve().parent.parent
HTML = {"accept": "text/html"}
CASE = "/advice?ms_type=relapsing&severity=severe&prior_failures=2&condition=cancer&condition=pml"


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app(default_advisor()))


class Page(HTMLParser):
    """A small DOM-less reading of a page: every element's attributes, text per id, links."""

    VOID = {"meta", "link", "input", "br", "img", "hr", "source", "col", "area", "base", "wbr"}

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.elements = []   # (tag, attrs dict, index into texts when it closes)
        self.stack = []
        self.text_by_id = {}
        self.blocks = {}     # data-drug -> (status, text)
        self.inline_scripts = []
        self._script = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.elements.append((tag, a))
        if tag == "script":
            self._script = []
        if tag not in self.VOID:
            self.stack.append((tag, a, []))

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            if "".join(self._script).strip():
                self.inline_scripts.append("".join(self._script))
            self._script = None
        while self.stack:
            t, a, text = self.stack.pop()
            joined = "".join(text)
            if self.stack:
                self.stack[-1][2].append(joined)
            if "id" in a:
                self.text_by_id[a["id"]] = joined
            if "data-drug" in a and "data-status" in a:
                self.blocks[a["data-drug"]] = (a["data-status"], joined)
            if t == tag:
                break

    def handle_data(self, data):
        if self._script is not None:
            self._script.append(data)
        if self.stack:
            self.stack[-1][2].append(data)

    def links(self):
        return [a["href"] for t, a in self.elements if t == "a" and "href" in a]


def get(client, url, status=200):
    r = client.get(url, headers=HTML)
    assert r.status_code == status, (url, r.status_code, r.text[:500])
    return r


PAGES = ["/", CASE, "/advice?ms_type=unknown&severity=mild", "/article", "/drugs", "/rules",
         "/schedule/ocrelizumab?start=2027-01-04", "/schedule/natalizumab", "/compare",
         "/compare?ms_type=relapsing&severity=severe&prior_failures=2&condition=cancer&drug=natalizumab&drug=ocrelizumab", "/about"]


@pytest.mark.parametrize("url", PAGES)
def test_every_page_has_the_disclaimer_the_kb_identity_and_the_security_headers(client, url):
    r = get(client, url)
    kb = default_advisor().kb
    ident = kbinfo.identity(kb)
    assert r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    page = Page(r.text)
    assert kb.header.disclaimer in r.text
    assert re.search(rf'kb-name">{re.escape(ident.name)}<.*kb-version">{re.escape(ident.version)}<.*kb-sha">{ident.sha256}<', r.text, re.S)
    assert re.fullmatch(r"[0-9a-f]{64}", ident.sha256)
    # Nothing from outside: every script, stylesheet and image is ours; no inline script or handler.
    for tag, a in page.elements:
        for attr in ("src", "href", "action"):
            if attr in a and tag in ("script", "link", "img", "form", "iframe"):
                assert a[attr].startswith("/") and not a[attr].startswith("//"), (tag, a)
        assert not any(name.startswith("on") for name in a), (tag, a)
        assert "style" not in a, (tag, a)
    assert page.inline_scripts == []
    assert "<style" not in r.text


def test_the_kb_identity_is_the_kbs_own_when_it_has_one():
    class WithIdentity:
        identity = {"name": "n", "version": "v", "sha256": "ab" * 32}

    assert kbinfo.identity(WithIdentity()) == kbinfo.KBIdentity("n", "v", "ab" * 32)


def test_the_kb_identity_changes_with_the_kb(kb_copy):
    before = kbinfo.identity(default_advisor().kb)
    path = kb_copy / "kb.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('version = "1"', 'version = "1-local"'), encoding="utf-8")
    after = kbinfo.identity(Advisor(kb_copy).kb)
    assert after.version == "1-local" and after.sha256 != before.sha256


def test_advice_blocks_carry_drug_and_status_listed_first(client):
    page = Page(get(client, CASE).text)
    rec = advise({"ms_type": "relapsing", "severity": "severe", "prior_failures": 2, "conditions": ["cancer", "pml"]})
    assert {d: s for d, (s, _) in page.blocks.items()} == {d.drug: d.status.value for d in rec.drugs}
    order = [a["data-drug"] for t, a in page.elements if "data-drug" in a]
    assert order[:len(rec.listed)] == list(rec.listed)
    for d in rec.drugs:
        text = normalize(page.blocks[d.drug][1])
        for reason in d.reasons:
            assert normalize(reason.text) in text and normalize(reason.quote) in text
        for caution in d.cautions:
            assert normalize(caution.text) in text
        if d.drug in rec.listed:
            assert normalize(d.schedule.text) in text


def what_if_links(html):
    page = Page(html)
    return [(a["href"], a["data-field"]) for t, a in page.elements if t == "a" and "data-field" in a]


@pytest.mark.parametrize("facts", [
    {"ms_type": "relapsing", "severity": "mild"},
    {"ms_type": "ppms", "severity": "moderate", "prior_failures": 1},
    {"ms_type": "spms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": 139.5, "rapidly_worsening": True},
])
def test_each_what_if_link_is_the_advice_with_one_change_that_lists_its_drug(client, facts):
    rec = advise(facts)
    query = "&".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in facts.items())
    r = get(client, "/advice?" + query)
    links = what_if_links(r.text)
    assert len(links) == sum(len(d.what_if) for d in rec.drugs) > 0
    from advisor.web import form as web_form

    base = PatientFacts.parse(facts)
    for href, field in links:
        parts = urlsplit(href)
        assert parts.path == "/advice"
        parsed = web_form.parse(parse_qsl(parts.query, keep_blank_values=True))
        changed = PatientFacts.parse(parsed.facts)
        assert [k for k in PatientFacts.model_fields if getattr(changed, k) != getattr(base, k)] == [field], href
        new = Page(get(client, href).text)
        value = getattr(getattr(changed, field), "value", getattr(changed, field))
        promised = [(d.drug, w.status.value) for d in rec.drugs for w in d.what_if if w.field == field and w.value == value]
        assert promised, href
        for drug, status in promised:  # the drug the link promised now has that status there
            assert new.blocks[drug][0] == status, (href, drug)


def test_every_quote_link_lands_on_that_quote_in_the_article(client):
    article = Page(get(client, "/article").text)
    seen = 0
    for url in (CASE, "/drugs", "/rules", "/schedule/alemtuzumab?start=2027-03-01",
                "/advice?ms_type=spms&severity=severe&condition=heart_failure&condition=kidney_disease&condition=blood_disorder&condition=depression&condition=infections&condition=hepatitis_b&condition=liver_disease&condition=weakened_immune_system&condition=shingles"):
        page = Page(get(client, url).text)
        for href in page.links():
            if href.startswith("/article#"):
                anchor = href.split("#", 1)[1]
                assert anchor in article.text_by_id, href
                seen += 1
    assert seen > 40
    kb = default_advisor().kb
    from advisor.web.article import anchor, cited

    for quote, section in cited(kb):  # every cited passage is marked, and its mark starts with its words
        ident = anchor(quote, section)
        marked = normalize(article.text_by_id[ident])
        assert normalize(quote).startswith(marked) and marked, (quote, marked)


def test_the_unheaded_lists_are_located_in_their_own_list():
    """"headache" is in alemtuzumab's and natalizumab's unheaded lists: each links to its own."""
    from advisor.web import article

    kb = default_advisor().kb
    html = str(article.render(kb).html)
    nat, alem = kb.drug("natalizumab"), kb.drug("alemtuzumab")
    a = html.index(f'id="{article.anchor("headache", alem.side_effects.section)}"')
    n = html.index(f'id="{article.anchor("headache", nat.side_effects.section)}"')
    infections = html.index(f'id="{article.anchor("infections", nat.side_effects.section)}"')
    assert a < infections < n
    ocr = kb.drug("ocrelizumab")
    mito_list = html.index("low WBC levels")
    assert html.index(f'id="{article.anchor("infections", ocr.side_effects.section)}"') > html.index("kidney failure") > mito_list


def test_bad_facts_give_the_form_again_with_each_problem_next_to_its_field(client):
    r = client.get("/advice?ms_type=progressive&severity=extreme&prior_failures=-1&mitoxantrone_cumulative_mg_m2=12,5"
                   "&rapidly_worsening=maybe&condition=pml&condition=gout", headers=HTML)
    assert r.status_code == 422
    assert "Traceback" not in r.text
    page = Page(r.text)
    for field, words in [("ms_type", "ambiguous"), ("severity", "unknown severity"), ("prior_failures", "whole number"),
                         ("mitoxantrone_cumulative_mg_m2", "number"), ("rapidly_worsening", "true or false"),
                         ("condition", "gout")]:
        assert words in page.text_by_id[f"{field}-error"], field
        assert words in page.text_by_id[f"field-{field}"], field  # inside the field's own box
        assert f'href="#field-{field}"' in r.text  # and listed in the summary, linking to it
    # the user's values are kept: the ticked condition stays ticked
    assert any(t == "input" and a.get("id") == "condition-pml" and "checked" in a for t, a in page.elements)
    assert 'aria-invalid="true"' in r.text


@pytest.mark.parametrize("query, field", [
    ("severity=mild", "ms_type"),
    ("ms_type=ppms", "severity"),
    ("ms_type=ppms&severity=mild&prior_failures=1001", "prior_failures"),
    ("ms_type=ppms&severity=mild&prior_failures=1&prior_failures=2", "prior_failures"),
    ("ms_type=ppms&severity=mild&mitoxantrone_cumulative_mg_m2=nan", "mitoxantrone_cumulative_mg_m2"),
    ("ms_type=ppms&severity=mild&mitoxantrone_cumulative_mg_m2=-3", "mitoxantrone_cumulative_mg_m2"),
    ("ms_type=ppms&severity=mild&prior_failures=" + "9" * 300, "prior_failures"),
    ("ms_type=ppms&severity=mild&condition=" + "&condition=".join(["pml"] * 60), "condition"),
])
def test_each_bad_fact_is_named_at_its_field(client, query, field):
    r = client.get("/advice?" + query, headers=HTML)
    assert r.status_code == 422
    assert Page(r.text).text_by_id.get(f"{field}-error"), r.text[:2000]


def test_an_unknown_parameter_is_refused_naming_the_allowed_ones(client):
    r = client.get("/advice?ms_type=ppms&severity=mild&sid=1", headers=HTML)
    assert r.status_code == 422 and "unknown field" in r.text and "mitoxantrone_cumulative_mg_m2" in r.text


def test_i_dont_know_the_type_explains_instead_of_guessing(client):
    r = get(client, "/advice?ms_type=unknown&severity=severe&prior_failures=2&condition=pml")
    page = Page(r.text)
    assert page.blocks == {}  # no drug advice at all
    links = [h for h in page.links() if h.startswith("/advice?")]
    types = [dict(parse_qsl(urlsplit(h).query))["ms_type"] for h in links]
    assert types == kbinfo.ms_types()
    for h in links:
        q = dict(parse_qsl(urlsplit(h).query))
        assert q["severity"] == "severe" and q["prior_failures"] == "2" and q["condition"] == "pml"
    # the other facts are still checked
    assert client.get("/advice?ms_type=unknown&severity=bad", headers=HTML).status_code == 422


def test_the_form_offers_every_type_severity_and_condition_of_the_kb(client):
    page = Page(get(client, "/").text)
    radios = {(a["name"], a["value"]) for t, a in page.elements if t == "input" and a.get("type") == "radio"}
    assert {v for n, v in radios if n == "ms_type"} == set(kbinfo.ms_types()) | {"unknown"}
    assert {v for n, v in radios if n == "severity"} == set(kbinfo.severities())
    boxes = [a["value"] for t, a in page.elements if t == "input" and a.get("name") == "condition"]
    assert boxes == [c.id for c in kbinfo.conditions(default_advisor().kb)]
    labelled = {a["for"] for t, a in page.elements if t == "label"}
    for t, a in page.elements:  # every input has a label
        if t == "input":
            assert a["id"] in labelled, a


def test_conditions_and_descriptions_come_from_the_kb_when_it_has_them():
    kb = default_advisor().kb

    class Described:
        def __init__(self, kb, conditions):
            self._kb, self.conditions = kb, conditions

        def __getattr__(self, name):
            return getattr(self._kb, name)

    described = Described(kb, [{"id": "other_autoimmune_disease", "description": "An autoimmune disease besides MS."},
                               {"id": "pml", "description": ""}])
    got = kbinfo.conditions(described)
    assert [c.id for c in got] == ["other_autoimmune_disease", "pml"]
    assert got[0].description == "An autoimmune disease besides MS." and got[0].described_by_kb
    assert "Natalizumab" in got[1].description and not got[1].described_by_kb  # the fallback
    fallback = kbinfo.conditions(kb)  # the KB of today has no descriptions: every condition still has one
    assert [c.id for c in fallback] == [c for c in PatientFacts.model_json_schema()["$defs"]["Condition"]["enum"]]
    assert all(c.description for c in fallback)


def test_schedule_page_and_ics_give_the_librarys_dates(client):
    kb = default_advisor().kb
    drug = kb.drug("alemtuzumab")
    expected = list(infusions(drug.schedule, date(2027, 3, 1)))
    page = get(client, "/schedule/alemtuzumab?start=2027-03-01").text
    for item in expected:
        assert f'datetime="{item.date.isoformat()}"' in page
    r = client.get("/schedule/alemtuzumab.ics?start=2027-03-01")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    assert 'attachment; filename="alemtuzumab-2027-03-01.ics"' == r.headers["content-disposition"]
    assert r.text.count("BEGIN:VEVENT") == len(expected) == 8
    assert "DTSTART;VALUE=DATE:20280301" in r.text
    r = client.get("/schedule/natalizumab.ics?start=2027-01-04&count=13")
    assert r.text.count("BEGIN:VEVENT") == 13


@pytest.mark.parametrize("url, status", [
    ("/schedule/aspirin?start=2027-01-01", 404), ("/schedule/aspirin.ics?start=2027-01-01", 404),
    ("/schedule/natalizumab?start=2027-02-30", 422), ("/schedule/natalizumab?start=9999-12-31", 422),
    ("/schedule/natalizumab?start=2027-01-01&count=0", 422), ("/schedule/natalizumab?start=2027-01-01&count=1e3", 422),
    ("/schedule/natalizumab?start=２０２７-01-01", 422), ("/schedule/natalizumab.ics?start=2027-01-0４", 422),
    ("/schedule/natalizumab?start=2027-01-01&count=１３", 422),
    ("/schedule/natalizumab.ics", 422), ("/schedule/natalizumab.ics?start=<script>", 422),
    ("/assets/../../setup.cfg", 404), ("/assets/web.py", 404),
])
def test_schedule_and_asset_errors_are_pages_not_tracebacks(client, url, status):
    r = client.get(url, headers=HTML)
    assert r.status_code == status, r.text[:300]
    assert "Traceback" not in r.text and "<script>" not in r.text
    if r.headers["content-type"].startswith("text/html"):
        assert "content-security-policy" in r.headers


def test_drugs_and_rules_negotiate_html_or_json(client):
    kb = default_advisor().kb
    assert [d["id"] for d in client.get("/drugs", headers={"accept": "application/json"}).json()] == list(kb.drug_ids)
    assert len(client.get("/rules").json()["rules"]) == len(kb.rules)
    assert "<h1>" in get(client, "/rules").text


HOSTILE = ['<script>alert(1)</script>', '"><img src=x onerror=alert(2)>', "'onmouseover='alert(3)", "</textarea><svg onload=alert(4)>",
           "javascript:alert(5)", "{{7*7}}", "\u202e\x00\x1b[31m"]


def assert_no_raw(html):
    """No markup from the input became markup: no handler attribute, no foreign element or script."""
    page = Page(html)
    for tag, a in page.elements:
        assert tag not in ("img", "svg", "iframe", "textarea"), (tag, a)
        assert not any(name.startswith("on") for name in a), (tag, a)
        for attr in ("href", "src", "action", "formaction"):
            assert not (a.get(attr) or "").strip().lower().startswith(("javascript:", "data:")), (tag, a)
    assert page.inline_scripts == []
    assert "<script>alert" not in html and "\x00" not in html and "\x1b" not in html


@pytest.mark.parametrize("payload", HOSTILE)
def test_markup_and_script_in_every_field_come_back_escaped(client, payload):
    for field in ("ms_type", "severity", "prior_failures", "rapidly_worsening", "mitoxantrone_cumulative_mg_m2", "condition", payload):
        r = client.get("/advice", params={"ms_type": "ppms", "severity": "mild", field: payload}, headers=HTML)
        assert r.status_code == 422
        assert_no_raw(r.text)
    r = client.get("/", params={"ms_type": payload, "prior_failures": payload, "condition": payload}, headers=HTML)
    assert_no_raw(r.text)
    for url in ("/schedule/ocrelizumab", "/schedule/ocrelizumab.ics"):
        r = client.get(url, params={"start": payload, "count": payload}, headers=HTML)
        assert_no_raw(r.text)
    from urllib.parse import quote

    r = client.get("/schedule/" + quote(payload, safe=""), headers=HTML)
    assert_no_raw(r.text)


def test_a_page_escapes_exactly_what_text_visible_escapes(client):
    """The pages follow the one rule for untrusted text (advisor.text.visible), nothing more or less:
    every code point, printed through the pages' Jinja finalize, comes out as text.visible writes it;
    and a real page echoing a name with every unsafe character (and some safe ones) shows it so."""
    from markupsafe import escape
    from urllib.parse import quote

    from advisor.text import has_unsafe, visible as text_visible
    from advisor.web.site import visible as page_visible

    every = "".join(map(chr, range(0x110000)))
    if page_visible(every) != text_visible(every):
        differ = [f"U+{ord(c):04X}" for c in every if page_visible(c) != text_visible(c)]
        pytest.fail(f"escaped otherwise than text.visible: {', '.join(differ[:20])} ({len(differ)} in all)")
    unsafe = "".join(c for c in map(chr, range(0xD800)) if has_unsafe(c)) + "\ufeff"
    name = "x" + unsafe + "\t\n\r\u200b\u200c\u200d\u00e9\u00a0\U0001f600"
    r = client.get("/schedule/" + quote(name, safe=""), headers=HTML)
    assert r.status_code == 404
    assert str(escape(f"No drug '{text_visible(name)}' in the knowledge base")) in r.text
    assert not has_unsafe(r.text.replace("\n", ""))


def test_markup_in_a_rules_dir_kbs_texts_is_escaped_on_every_page(kb_copy):
    """A --rules-dir KB whose every text (and its source) carries markup and script."""
    # no digit in it: the claim-word guard refuses a number that a text's quote does not hold
    evil = '<script>alert("kb")</script><img src=x onerror=alert(document.cookie)>'
    source = kb_copy / "sources" / "ms-infusions.txt"
    text = source.read_text(encoding="utf-8")
    marker = "at least two other MS medications."
    source.write_text(text.replace(marker, marker + " " + evil, 1), encoding="utf-8")
    import tomllib

    def poison(path, keys=("text", "name", "brand", "disclaimer", "source_title", "list_note", "note", "brand_note", "version")):
        import json as _json

        raw = path.read_text(encoding="utf-8")
        out = []
        for line in raw.splitlines():
            m = re.match(r'^(\s*)(\w+)(\s*=\s*)"(.*)"\s*$', line)
            if m and m.group(2) in keys:
                line = f'{m.group(1)}{m.group(2)}{m.group(3)}{_json.dumps(m.group(4) + " " + evil, ensure_ascii=False)}'
            out.append(line)
        path.write_text("\n".join(out) + "\n", encoding="utf-8")
        tomllib.loads(path.read_text(encoding="utf-8"))

    for name in ("kb.toml", "drugs.toml", "decisions.toml", "cautions.toml", "notes.toml"):
        poison(kb_copy / name)
    # one rule quotes the poisoned passage, so the article marks it and the advice quotes it
    decisions = kb_copy / "decisions.toml"
    d = decisions.read_text(encoding="utf-8")
    old_quote = 'quote = "Doctors give alemtuzumab (Lemtrada) to people who haven’t responded well to at least two other MS medications."'
    assert old_quote in d
    import json as _json
    d = d.replace(old_quote, "quote = " + _json.dumps("at least two other MS medications. " + evil, ensure_ascii=False), 1)
    decisions.write_text(d, encoding="utf-8")
    advisor = Advisor(kb_copy)
    assert evil in advisor.kb.header.disclaimer and evil in advisor.kb.drugs[0].name
    client = TestClient(create_app(advisor))
    urls = ["/", "/advice?ms_type=relapsing&severity=severe&prior_failures=2&condition=cancer&condition=pml&condition=heart_failure",
            "/advice?ms_type=ppms&severity=mild", "/advice?ms_type=unknown&severity=mild", "/advice?ms_type=bad&severity=mild",
            "/article", "/drugs", "/rules", "/schedule/alemtuzumab?start=2027-01-01", "/schedule/nothing", "/about"]
    for url in urls:
        r = client.get(url, headers=HTML)
        assert r.status_code in (200, 404, 422)
        assert_no_raw(r.text)
        assert "&lt;script&gt;alert(&#34;kb&#34;)&lt;/script&gt;" in r.text or "&lt;script&gt;alert(&#34;kb&#34;)" in r.text, url
    ics = client.get("/schedule/alemtuzumab.ics?start=2027-01-01").text
    assert "BEGIN:VCALENDAR" in ics  # calendar text is not HTML; it carries the name as data
    article = client.get("/article", headers=HTML).text
    assert '<mark class="quote"' in article and "&lt;img src=x onerror=alert(document.cookie)&gt;</mark>" in article


def test_the_templates_and_assets_are_package_data():
    """Every file under advisor/web/templates and static is matched by setup.cfg's package_data."""
    cfg = ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    patterns = [p.strip() for p in cfg["options.package_data"]["advisor.web"].split(",")]
    assert "advisor.web" in [p.strip() for p in cfg["options"]["packages"].split(",")]
    web = ROOT / "advisor" / "web"
    files = [p.relative_to(web).as_posix() for sub in ("templates", "static") for p in (web / sub).rglob("*") if p.is_file()]
    assert len(files) >= 10
    for f in files:
        assert any(fnmatch(f, pat) for pat in patterns), f"{f} would be missing from the wheel"


def test_another_app_in_the_same_process_reuses_the_compiled_templates_and_an_edit_is_recompiled(monkeypatch):
    from jinja2 import DictLoader, Environment

    from advisor.web import site

    create_app(default_advisor())  # compiles every template, unless an earlier app did
    compiled = []
    real = Environment.compile

    def compile(self, source, name=None, *args, **kwargs):
        compiled.append(name)
        return real(self, source, name, *args, **kwargs)

    monkeypatch.setattr(Environment, "compile", compile)
    client = TestClient(create_app(default_advisor()))
    assert compiled == [] and "Which MS infusion drugs" in client.get("/").text
    # The cache is checked against each template's source: a changed template is compiled again, never served stale.
    for text in ("first {{ 1 }}", "second {{ 2 }}"):
        env = Environment(loader=DictLoader({"t.html": text}), bytecode_cache=site._COMPILED)
        assert env.get_template("t.html").render() == text.replace("{{ 1 }}", "1").replace("{{ 2 }}", "2")
    assert compiled == ["t.html", "t.html"]


def test_head_requests_and_the_frameworks_own_errors_carry_the_headers(client):
    r = client.head(CASE)
    assert r.status_code == 200 and r.headers["content-security-policy"] and r.content == b""
    for method, url, status in (("get", "/no-such-page", 404), ("post", "/advice", 405)):
        r = getattr(client, method)(url)
        assert r.status_code == status and r.headers["content-security-policy"].startswith("default-src 'none'")


def test_thousands_of_bad_parameters_give_a_short_page(client):
    r = client.get("/advice?" + "&".join(f"x{i}=1" for i in range(2000)), headers=HTML)
    assert r.status_code == 422 and r.text.count("unknown field") == 5 and len(r.text) < 20_000


def test_advice_path_gives_the_page_of_those_facts(client):
    from advisor.web import advice_path

    facts = PatientFacts.parse({"ms_type": "spms", "severity": "severe", "rapidly_worsening": True,
                                "mitoxantrone_cumulative_mg_m2": 12.25, "conditions": ["depression"]})
    path = advice_path(facts)
    assert path.startswith("/advice?")
    page = Page(get(client, path).text)
    assert {d: s for d, (s, _) in page.blocks.items()} == {d.drug: d.status.value for d in advise(facts).drugs}
    assert "12.25 mg/m²" in get(client, path).text


def test_the_schedule_page_without_a_start_lists_dates_from_today(client):
    page = get(client, "/schedule/natalizumab").text
    assert f'datetime="{date.today().isoformat()}"' in page and page.count("<time ") == 10
    assert client.get("/schedule/natalizumab.ics").status_code == 422  # a calendar needs its start said


from hypothesis import given, strategies as st  # noqa: E402


@given(st.one_of(st.just(0.0), st.floats(min_value=1e-6, max_value=999_999_999, allow_nan=False, allow_infinity=False)))
def test_a_dose_written_into_a_link_reads_back_as_the_same_number(value):
    from advisor.web import form as web_form

    parsed = web_form.parse([("ms_type", "ppms"), ("severity", "mild"), ("mitoxantrone_cumulative_mg_m2", web_form.number(value))])
    assert parsed.errors == {} and parsed.facts["mitoxantrone_cumulative_mg_m2"] == value


@pytest.mark.parametrize("name", ["Lemtrada", "ALEMTUZUMAB", "Alemtuzumab"])
def test_a_drugs_name_or_brand_leads_to_its_schedule(client, name):
    r = client.get(f"/schedule/{name}?start=2027-03-01", headers=HTML, follow_redirects=False)
    assert r.status_code == 308 and r.headers["location"] == "/schedule/alemtuzumab?start=2027-03-01"
    r = client.get(f"/schedule/{name}.ics?start=2027-03-01", follow_redirects=False)
    assert r.headers["location"] == "/schedule/alemtuzumab.ics?start=2027-03-01"
    assert client.get(f"/schedule/{name}.ics?start=2027-03-01").text.count("BEGIN:VEVENT") == 8


def test_cautions_on_the_page_say_they_change_no_status_and_how_the_unheaded_list_is_attributed(client):
    page = get(client, "/advice?ms_type=relapsing&severity=severe&prior_failures=2&condition=pml&condition=cancer").text
    kb = default_advisor().kb
    rec = default_advisor().advise({"ms_type": "relapsing", "severity": "severe", "prior_failures": 2, "conditions": ["pml", "cancer"]})
    # under each caution, with the attribution of the list it rests on (issue 24, item 8)
    assert page.count(kb.header.caution_note) == sum(len(d.cautions) for d in rec.drugs) == 4
    assert "By its position it is taken as ocrelizumab" in page and "By its position it is taken as natalizumab" in page
    assert "caution-note" not in get(client, "/advice?ms_type=relapsing&severity=severe").text


@pytest.mark.parametrize("field,value", [("prior_failures", "３"), ("prior_failures", "٢"), ("mitoxantrone_cumulative_mg_m2", "١٤٠")])
def test_the_form_takes_ascii_digits_only(client, field, value):
    r = client.get("/advice", params={"ms_type": "spms", "severity": "mild", field: value}, headers=HTML)
    assert r.status_code == 422 and "written in ASCII digits" in r.text


# --- the schedule page honours a dose already received, and refuses what it does not read (review finding) --

def _dates(html):
    return re.findall(r'<time datetime="([0-9-]+)"', html)


def test_the_schedule_page_gives_the_dates_the_schedule_command_gives_for_a_dose_received(client):
    from advisor.schedule import plan

    for dose, count in ((None, 13), (0.0, 13), (100.0, 0), (139.5, 0), (140.0, 0), (1000.0, 0)):
        query = "/schedule/mitoxantrone?start=2027-01-31" + (f"&mitoxantrone_cumulative_mg_m2={dose:g}" if dose is not None else "")
        page = get(client, query).text
        expected = plan(default_advisor(), "mitoxantrone", date(2027, 1, 31), received=dose)
        assert _dates(page) == [i.date.isoformat() for i in expected.infusions] and len(expected.infusions) == count, dose
        if dose is not None:
            assert expected.remaining and expected.remaining.replace("'", "&#39;") in page
            assert f'value="{dose:g}"' in page  # shown again in the form
        if count:
            assert "No date is listed after 2030-01-31" in page and "The course ends by" not in page
            ics = re.search(r'href="(/schedule/mitoxantrone\.ics\?[^"]+)"', page).group(1).replace("&amp;", "&")
            assert client.get(ics).text.count("BEGIN:VEVENT") == count
        elif dose < 140:  # a dose received: no new course; how many remain cannot be worked out
            assert "No dates are listed." in page and expected.left_unknown in page and ".ics?" not in page
        else:
            assert "the lifetime maximum is reached" in page and ".ics?" not in page
    r = client.get("/schedule/mitoxantrone.ics?start=2027-01-31&mitoxantrone_cumulative_mg_m2=140", headers=HTML)
    assert r.status_code == 422 and "there are no infusion dates to put in a calendar" in r.text


@pytest.mark.parametrize("query,message", [
    ("start=2027-01-31&cumulative=100", "unknown field &#39;cumulative&#39; (allowed: start, count, mitoxantrone_cumulative_mg_m2)"),
    ("start=2027-01-31&mitoxantrone_cumulative_mg_m2=ten", "is not a number written in ASCII digits (e.g. 12.5 or 1e-5)"),
    ("start=2027-01-31&mitoxantrone_cumulative_mg_m2=139.99999999999999999", "has more digits than the advisor can compare exactly"),
    ("start=2027-01-31&mitoxantrone_cumulative_mg_m2=1&mitoxantrone_cumulative_mg_m2=200", "is given more than once"),
    ("start=2027-01-31&start=2027-02-01", "is given more than once"),
])
def test_the_schedule_page_refuses_unknown_or_bad_query_fields_as_the_advice_page_does(client, query, message):
    for path in ("/schedule/mitoxantrone", "/schedule/mitoxantrone.ics"):
        r = client.get(f"{path}?{query}", headers=HTML)
        assert r.status_code == 422 and message in r.text, (path, r.text[:300])
        assert "<time " not in r.text and "BEGIN:VCALENDAR" not in r.text


def test_a_dose_on_the_schedule_of_a_drug_without_a_lifetime_maximum_is_refused(client):
    r = client.get("/schedule/natalizumab?start=2027-01-31&mitoxantrone_cumulative_mg_m2=10", headers=HTML)
    assert r.status_code == 422 and "mitoxantrone_cumulative_mg_m2: Natalizumab has no lifetime maximum dose in the article" in r.text


def test_the_advice_page_links_each_schedule_with_the_dose_received(client):
    page = get(client, "/advice?ms_type=spms&severity=severe&prior_failures=2&mitoxantrone_cumulative_mg_m2=100").text
    links = dict(re.findall(r'href="/schedule/([a-z]+)\?([^"]+)"', page))
    assert "mitoxantrone_cumulative_mg_m2=100" in links["mitoxantrone"].replace("&amp;", "&")
    assert "mitoxantrone_cumulative" not in links["alemtuzumab"]
    # a dose not given is not written as 0 on the way to the schedule (issue 20, item 5)
    page = get(client, "/advice?ms_type=spms&severity=severe").text
    assert "mitoxantrone_cumulative" not in dict(re.findall(r'href="/schedule/([a-z]+)\?([^"]+)"', page))["mitoxantrone"]
    assert "<dd>not given</dd>" in page
    follow = get(client, "/schedule/mitoxantrone?" + links["mitoxantrone"].replace("&amp;", "&")).text
    assert "40 of the 140 mg/m² lifetime maximum is left" in follow


# --- the form's words come from the KB and help a person choose (issue 24, item 13) ----------------------

def test_condition_labels_come_from_the_kb_and_no_hint_repeats_its_label(client):
    html = get(client, "/").text
    page = Page(html)
    kb = default_advisor().kb
    assert [c.label for c in kbinfo.conditions(kb)] == [c.label for c in kb.conditions]  # the KB's own labels
    assert ">Hepatitis B</label>" in html and "Hepatitis b" not in html
    for c in kbinfo.conditions(kb):
        assert f">{c.label}</label>" in html
        hint = page.text_by_id.get(f"condition-{c.id}-hint")
        if hint is not None:  # a hint says more than its label ("heart failure" under "Heart failure" is not shown)
            words = re.sub(r"^(a|an|the) ", "", hint.casefold())
            assert words != c.label.casefold(), (c.id, hint)
    for plain in ("heart_failure", "depression", "blood_disorder", "weakened_immune_system"):
        assert f"condition-{plain}-hint" not in page.text_by_id and f'aria-describedby="condition-{plain}-hint"' not in html
    assert "already in the person's system" in page.text_by_id["condition-hepatitis_b-hint"]


def test_the_ms_type_hints_say_what_the_article_says_and_to_ask_the_ms_team(client):
    page = Page(get(client, "/").text)
    assert "MS team" in page.text_by_id["ms_type-hint"] and "I don't know" in page.text_by_id["ms_type-hint"]
    source = " ".join(default_advisor().kb.source_text.split()).casefold()
    for t in ("relapsing", "spms", "ppms"):
        hint = page.text_by_id[f"ms_type-{t}-hint"]
        assert "flare" not in hint.casefold()  # the article never ties relapsing MS to flare-ups
        named = {"relapsing": "relapsing", "spms": "secondary progressive ms", "ppms": "primary progressive ms"}[t]
        assert named in hint.casefold() and named in source
    assert 'aria-describedby="ms_type-hint"' in get(client, "/").text


@pytest.mark.parametrize("sent, chosen", [("rrms", "relapsing"), ("RRMS", "relapsing"), ("Secondary progressive", "spms"),
                                          ("relapsing", "relapsing")])
def test_an_ms_type_alias_stays_selected_when_the_form_comes_back_with_an_error(client, sent, chosen):
    r = get(client, f"/advice?ms_type={sent}&severity=Severe&prior_failures=two&condition=autoimmune_disease&condition=nope", 422)
    checked = {a["id"] for t, a in Page(r.text).elements if t == "input" and "checked" in a}
    assert f"ms_type-{chosen}" in checked and "severity-severe" in checked
    assert "condition-other_autoimmune_disease" in checked
    assert "You sent “nope”" in r.text and "You sent “autoimmune_disease”" not in r.text


def test_the_schedule_pages_date_hint_fits_a_date_field_and_weekends_are_marked(client):
    page = get(client, "/schedule/mitoxantrone?start=2027-01-04").text
    hint = Page(page).text_by_id["start-hint"]
    assert 'type="date" name="start"' in page and "YYYY-MM-DD" not in hint and "order the field shows" in hint
    rows = re.findall(r"<tr><td>\d+</td><td>(.*?)</td>", page)
    assert rows and len(rows) == 13
    for row in rows:  # as the CLI: "(weekend)" after a Saturday or a Sunday, and only there
        day = re.search(r'datetime="([0-9-]+)"', row).group(1)
        assert ("(weekend)" in row) == (date.fromisoformat(day).weekday() >= 5), row
    assert sum("(weekend)" in row for row in rows) == 2  # 2027-04-04 and 2027-07-04 are Sundays


def test_no_page_asks_for_dragging():
    """WCAG 2.2 dragging movements: nothing on the pages is draggable or listens for a drag (the facts
    and what matters are radio buttons and checkboxes, never sliders)."""
    from pathlib import Path

    web = Path(__file__).resolve().parent.parent / "advisor" / "web"
    for path in [*web.glob("templates/*.html"), *web.glob("static/*.js")]:
        text = path.read_text("utf-8").lower()
        for word in ("draggable", "ondrag", "dragstart", "pointermove", 'type="range"'):
            assert word not in text, (path.name, word)
