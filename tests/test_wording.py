"""The texts in the article's own words: its hedges kept ("more likely", "such as", "can include"),
relapsing MS never described as flare-ups."""

import re
import warnings


from advisor import advise
from advisor.kb.load import default_directory, load
from article_helpers import client, flat, HTML, page_text, run  # noqa: F401 (the client fixture)

with warnings.catch_warnings():  # starlette's TestClient prefers httpx2; httpx is what we depend on
    warnings.simplefilter("ignore")


def every_text(rec):
    data = rec.model_dump(mode="json")
    out = []

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("text", "note", "attribution", "remaining") and isinstance(v, str):
                    out.append(v)
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(data)
    return out


KB_DIR = default_directory()


def test_the_texts_keep_the_articles_hedges_and_examples():
    rec = advise({"ms_type": "relapsing", "severity": "mild", "conditions": ["liver_disease", "infections"]})
    notes = {n.id: n.text for n in rec.notes}
    assert "more likely within the first 2 hours" in notes["infusion_reaction_window"]
    assert "most likely" not in " ".join(every_text(rec))
    assert notes["not_right_for_everyone"].endswith("Still, many people have found them helpful.")
    assert all(w.text.startswith(("The article describes ", "The article's statements point to ")) for d in rec.drugs
               for w in d.what_if) and any(d.what_if for d in rec.drugs)
    liver = next(c for c in rec.drug("natalizumab").cautions if c.condition.value == "liver_disease")
    assert "with symptoms such as" in liver.text
    assert "such as" in next(e.text for e in load(KB_DIR).drug("natalizumab").side_effects.serious if "liver" in e.text)
    mito = next(c for c in rec.drug("mitoxantrone").cautions if c.condition.value == "infections")
    assert "can include" in mito.text and "commonly lowers" not in mito.text


def test_relapsing_ms_is_never_described_as_flare_ups(client):
    form = page_text(client, "/")
    assert "The article names relapsing forms of MS where it describes ocrelizumab." in form
    texts = [form, flat(run("advise", "--ms-type", "relapsing", "--severity", "mild", "--format", "markdown").stdout)]
    for text in texts:
        for sentence in re.split(r"(?<=[.!?])\s", text):
            assert not ("relapsing" in sentence.lower() and "flare" in sentence.lower()), sentence
