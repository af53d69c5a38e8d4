"""Load and validate a knowledge-base directory (``rules/``): TOML data in, typed models out.

Nothing here knows about durable-rules: the KB is plain data that :mod:`advisor.core.engine` compiles.
A broken KB raises :class:`KnowledgeBaseError` naming the file, the item id and what is wrong. The
schema is :mod:`advisor.kb.schema`; reading the files, the source and the further checks are
:mod:`advisor.kb.files`, :mod:`advisor.kb.source`, :mod:`advisor.kb.problems` and :mod:`advisor.kb.space`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.version import VERSION as pydantic_version

from advisor.errors import KnowledgeBaseError
from advisor import cache
from advisor.kb.vocabulary import (PACKAGED, PACKAGED_STATUSES, ConditionItem, StatusItem, packaged_directory, status_problems,
                                  statuses_for, vocabulary_for, vocabulary_problems)
from advisor.kb.facts import FactSpec, fact_problems
from advisor.kb.files import fingerprint, kb_files, read_toml
from advisor.kb.matters import MatterItem
from advisor.kb.readability import reason_problems
from advisor.kb.aid_items import CompareRow, Term
from advisor.kb.schema import CautionRule, Drug, Header, KnowledgeBase, NoteItem, Rule
from advisor.kb.source import read_source
from advisor.core.models import FACTS

FILES = ("kb.toml", "facts.toml", "statuses.toml", "conditions.toml", "drugs.toml", "decisions.toml", "cautions.toml", "notes.toml",
         "terms.toml")
OPTIONAL = ("facts.toml", "terms.toml")  # a KB written before these files existed has none


def _items(model: type[BaseModel], raw: Any, file: str, key: str, problems: list[Any],
           context: dict[str, Any] | None = None) -> list[Any]:
    if any(f == file for f, _, _ in problems):
        return []  # the file itself could not be read; that problem is already reported
    if raw is None:
        problems.append((file, "", f"has no [[{key}]] entries"))
        return []
    if not isinstance(raw, list):
        problems.append((file, "", f"'{key}' must be an array of tables ([[{key}]])"))
        return []
    out = []
    for n, item in enumerate(raw, 1):
        ident = item.get("id", f"{key} #{n}") if isinstance(item, dict) else f"{key} #{n}"
        try:
            out.append(model.model_validate(item, context=context))
        except ValidationError as e:
            for err in e.errors():
                where = ".".join(str(p) for p in err["loc"])
                message = err["msg"].removeprefix("Value error, ")
                problems.append((file, str(ident), f"{where}: {message}" if where else message))
    return out


def load(directory: str | Path, source: str | Path | None = None, *, reuse_proof: bool = True) -> KnowledgeBase:
    """Read, validate and return the knowledge base in ``directory``; raise KnowledgeBaseError if broken.

    Quotes are checked against the KB's own source file, or against ``source`` when it is given. The
    models are validated at every load; the checks beyond them (quotes, claims, numbers, the decision
    space) run once per content and code: a KB whose fingerprint this code has proven before (kept by
    :mod:`advisor.cache`) skips them, unless ``reuse_proof`` is false (``kb check``)."""
    root = Path(directory)
    if not root.is_dir():
        raise KnowledgeBaseError([(str(root), "", "is not a directory")])
    problems: list[tuple[str, str, str]] = []
    # a KB without facts.toml (one written before it existed) has the packaged KB's facts
    present = {name: (root / name).exists() or (root / name).is_symlink() for name in OPTIONAL}
    own_facts = present["facts.toml"]
    read: dict[str, bytes] = {}  # the bytes parsed, and so checked: the key of their proof
    raw = {name: read_toml(root / name, problems, read) if present.get(name, True) else {} for name in FILES}
    for name in FILES:  # a text's reason to read above the grade limit, for kb check (see readability.py)
        problems += reason_problems(raw[name], name)
    # compare.toml (the comparison grid) is optional: a KB without it has no grid
    own_compare = (root / "compare.toml").exists() or (root / "compare.toml").is_symlink()
    raw_compare = read_toml(root / "compare.toml", problems, read) if own_compare else {}
    problems += reason_problems(raw_compare, "compare.toml")
    header = None
    try:
        header = Header.model_validate(raw["kb.toml"])
    except ValidationError as e:
        problems += [("kb.toml", "", f"{'.'.join(map(str, err['loc']))}: {err['msg']}") for err in e.errors()]
    fact_items = _items(FactSpec, raw["facts.toml"].get("fact"), "facts.toml", "fact", problems) if own_facts else list(FACTS)
    problems += [("facts.toml", ident, p) for ident, p in fact_problems(fact_items)]
    facts = {f.id: f for f in fact_items}
    statuses = _items(StatusItem, raw["statuses.toml"].get("status"), "statuses.toml", "status", problems)
    problems += [("statuses.toml", "", p) for p in status_problems(statuses)]
    conditions = _items(ConditionItem, raw["conditions.toml"].get("condition"), "conditions.toml", "condition", problems)
    problems += [("conditions.toml", "", p) for p in vocabulary_problems(conditions)]
    vocabulary = vocabulary_for(tuple(conditions)) if conditions and not vocabulary_problems(conditions) else PACKAGED
    status_set = statuses_for(tuple(statuses)) if statuses and not status_problems(statuses) else PACKAGED_STATUSES
    context = {"facts": facts, "vocabulary": vocabulary, "statuses": status_set}
    conditions_unread = any(f == "conditions.toml" for f, _, _ in problems)
    if any(f.kind == "conditions" for f in fact_items) and not conditions and not conditions_unread:
        problems.append(("facts.toml", "conditions", "a conditions fact needs the conditions of conditions.toml"))
    drugs = _items(Drug, raw["drugs.toml"].get("drug"), "drugs.toml", "drug", problems, context)
    rules = _items(Rule, raw["decisions.toml"].get("rule"), "decisions.toml", "rule", problems, context)
    cautions = _items(CautionRule, raw["cautions.toml"].get("caution"), "cautions.toml", "caution", problems, context)
    notes = _items(NoteItem, raw["notes.toml"].get("note", []), "notes.toml", "note", problems, context)
    rows = _items(CompareRow, raw_compare.get("row"), "compare.toml", "row", problems, context) if own_compare else []
    if set(raw_compare) - {"row"}:
        problems.append(("compare.toml", "", f"unknown keys: {', '.join(sorted(set(raw_compare) - {'row'}))}"))
    terms = _items(Term, raw["terms.toml"].get("term", []), "terms.toml", "term", problems)
    # matters.toml (what matters to a person, for the decision aid) is optional: a KB without it has none
    raw_matters = read_toml(root / "matters.toml", problems, read) if (root / "matters.toml").exists() or \
        (root / "matters.toml").is_symlink() else {}
    matters = _items(MatterItem, raw_matters.get("matter"), "matters.toml", "matter", problems) if raw_matters else []
    if set(raw_matters) - {"matter"}:
        problems.append(("matters.toml", "", f"unknown keys: {', '.join(sorted(set(raw_matters) - {'matter'}))}"))
    for name in FILES:
        unknown = set(raw[name]) - {"kb.toml": set(Header.model_fields), "facts.toml": {"fact"},
                                    "statuses.toml": {"status"}, "conditions.toml": {"condition"},
                                    "drugs.toml": {"drug"},
                                    "decisions.toml": {"rule"},
                                    "cautions.toml": {"caution"}, "notes.toml": {"note"}, "terms.toml": {"term"}}[name]
        if unknown:
            problems.append((name, "", f"unknown keys: {', '.join(sorted(unknown))}"))

    source_text = ""
    source_file: Path | None = None
    if source is not None:
        source_file = Path(source)
        source_text = read_source(Path(source), None, str(source), problems)
    elif header is not None:
        try:
            source_path = (root / header.source).resolve()
        except (OSError, RuntimeError):  # a symlink loop: read_source says so
            source_path = root
        if not source_path.is_relative_to(root.resolve()):
            problems.append(("kb.toml", "", f"source '{header.source}' must lie inside the knowledge-base directory"))
        else:
            source_file = root / header.source
            source_text = read_source(root / header.source, root, f"source '{header.source}'", problems)

    drug_ids = [d.id for d in drugs]
    _duplicates(drug_ids, "drugs.toml", "drug", problems)
    _duplicates([r.id for r in rules] + [c.id for c in cautions], "decisions.toml/cautions.toml", "rule", problems)
    _duplicates([n.id for n in notes], "notes.toml", "note", problems)
    _duplicates([t.id for t in terms], "terms.toml", "term", problems)
    _duplicates([w.casefold() for t in terms for w in t.words], "terms.toml", "term word", problems)
    for file, items in (("decisions.toml", rules), ("cautions.toml", cautions), ("notes.toml", notes)):
        for item in items:
            if item.drug is not None and item.drug not in drug_ids:
                problems.append((file, item.id, f"unknown drug '{item.drug}' (known: {', '.join(drug_ids)})"))
    seen_cautions = set()
    for c in cautions:
        if (c.drug, c.condition) in seen_cautions:
            problems.append(("cautions.toml", c.id, f"a second caution for {c.drug} and {c.condition.value}"))
        seen_cautions.add((c.drug, c.condition))

    if source_file is not None:
        read["source:" + source_file.name] = source_text.encode("utf-8")
    files = kb_files(root, source_file, problems) if not problems else {}
    sha256 = fingerprint(files) if not problems else ""
    # A proof is of the very bytes parsed and checked (not of the files kb_files() reads again for the fingerprint:
    # an editor may have saved one meanwhile), of the packaged facts that a KB without facts.toml is checked
    # with (rules/facts.toml, no module of the code stamp), and of pydantic's version.
    exact = fingerprint(read, fold_line_ends=False) if sha256 else ""
    packaged = "" if own_facts else "".join(f.model_dump_json() for f in FACTS)
    proof = f"{exact}\nsource {source is not None}\npydantic {pydantic_version}\n{packaged}".encode()
    proven = reuse_proof and bool(sha256) and cache.get("proven", proof) is True
    if not proven:
        problems += _checks(raw, header, facts, drugs, rules, cautions, notes, rows, terms, matters, conditions,
                            source_text, sound=not problems)
    if problems:
        raise KnowledgeBaseError(problems)
    if not proven:
        cache.put("proven", proof, True)
    assert header is not None
    return KnowledgeBase(directory=str(root), header=header, sha256=sha256, source_text=source_text,
                         statuses=tuple(statuses), conditions=tuple(conditions), drugs=tuple(drugs),
                         rules=tuple(rules), cautions=tuple(cautions), notes=tuple(notes), facts=tuple(fact_items),
                         compare=tuple(rows), terms=tuple(terms), matters=tuple(matters))


def _checks(raw: dict[str, Any], header: Header | None, facts: dict[str, FactSpec],
            drugs: list[Drug], rules: list[Rule], cautions: list[CautionRule], notes: list[NoteItem], rows: list[CompareRow],
            terms: list[Term], matters: list[MatterItem], conditions: list[ConditionItem],
            source_text: str, sound: bool) -> list[tuple[str, str, str]]:
    """What load() proves beyond the models: what matters points at what is there, quotes verbatim in
    their sections, no text claiming more than its quote, named numbers stated alike, thresholds and
    names sound, and (for a KB ``sound`` so far and here) the decision space. Imported here, not at the top: a
    proven KB never needs them."""
    from advisor.kb.claims import overstatement, unused_allowances
    from advisor.kb.compare import cited as compare_cited, compare_problems
    from advisor.kb.matters import matter_problems
    from advisor.kb.numbers import number_problems, unit_problems
    from advisor.kb.problems import claim_problems, name_problems, rule_shape_problems, threshold_problems
    from advisor.kb.schema import testable
    from advisor.kb.source import quote_problem
    from advisor.kb.space import decision_space

    problems: list[tuple[str, str, str]] = []
    problems += matter_problems(matters, drugs, notes, rows)
    if source_text:
        cited: list[tuple[str, str, str, str]] = []
        for d in drugs:
            cited.append(("drugs.toml", d.id, d.how_it_works.quote, d.section))
            cited.append(("drugs.toml", d.id, d.schedule.quote, d.section))
            cited += [("drugs.toml", d.id, a.quote, a.under or a.section) for a in d.about]
            labels = tuple(q for q in (d.side_effects.serious_label, d.side_effects.after) if q)
            for effect in (*d.side_effects.common, *d.side_effects.serious, *labels):
                cited.append(("drugs.toml", d.id, effect.quote, d.side_effects.under or d.side_effects.section))
        cited += [("decisions.toml", r.id, quote, under) for r in rules
                  for quote, under in ((r.quote, r.under or r.section), *((q.quote, q.under or q.section) for q in r.also))]
        cited += [("cautions.toml", c.id, c.quote, c.under or c.section) for c in cautions]
        cited += [("notes.toml", n.id, n.quote, n.under or n.section or "") for n in notes if n.quote]
        cited += compare_cited(rows)
        cited += [("terms.toml", t.id, t.quote, t.under or t.section) for t in terms]
        if header is not None:
            cited += [("kb.toml", f"numbers.{name}", n.quote, n.section) for name, n in header.numbers.items()]
        for file, ident, quote, section in cited:
            problem = quote_problem(quote, section, source_text)
            if problem:
                problems.append((file, ident, problem))
    problems += claim_problems(drugs, rules, cautions, notes)
    problems += compare_problems(rows, drugs, notes)
    if header is not None:  # every statement of a named number agrees with it
        problems += unit_problems(header.numbers) + number_problems(header.numbers, raw, rules, notes, drugs)
        problems += [("kb.toml", f"numbers.{name}", f"unknown fact '{n.fact}' (testable: {', '.join(testable(facts))})")
                     for name, n in header.numbers.items() if n.fact is not None and n.fact not in testable(facts)]
    if header is not None:  # shown on every surface: the disclaimer and the caution note claim nothing either
        texts = (header.disclaimer, header.caution_note)
        problems += [("kb.toml", "", p) for text in texts if (p := overstatement(text, None, header.allow))]
        problems += [("kb.toml", "", p) for p in unused_allowances(header.allow, texts)]
    problems += [("conditions.toml", c.id, p) for c in conditions for text in (c.description, c.label) if text
                 and (p := overstatement(text, None))]

    problems += threshold_problems(rules, facts) + rule_shape_problems(rules) + name_problems(drugs)
    if sound and not problems:  # the decision space needs every rule valid
        problems += decision_space(rules, [d.id for d in drugs], facts=facts).problems
    return problems


def _duplicates(ids: list[str], file: str, kind: str, problems: list[Any]) -> None:
    seen = set()
    for i in ids:
        if i in seen:
            problems.append((file, i, f"duplicate {kind} id"))
        seen.add(i)


def default_directory() -> Path:
    """The knowledge base shipped with the package (installed copy first, then a source checkout's)."""
    return packaged_directory()
