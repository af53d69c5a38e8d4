"""FHIR R4 in, the advisor's facts out: what the resources say, and what in them is missing, unclear or
not the shape their query answers. Fetching the resources the EHR did not prefetch is ``fhir_fetch``;
FHIR's times are ``fhir_time``.

The mapping (also in docs/service.md, whose table of codes is generated from fhir.toml):

* MS type: an active Condition whose code is one of ``fhir.toml``'s ``ms_type`` codes. Multiple
  sclerosis recorded without a type (``unspecified_ms``: SNOMED 24700007, ICD-10 G35) is not a type.
* Severity: that Condition's ``severity`` coded with one of the ``severity`` codes.
* Conditions: other active Conditions whose code ``fhir.toml`` maps to a condition of the KB.
* The facts FHIR has no standard code for: final Observations with system
  ``urn:ms-infusion-advisor:facts`` and the code ``facts.toml`` gives the fact (its ``fhir``): in the
  packaged KB ``prior-treatment-failures`` (valueInteger), ``rapidly-worsening`` (valueBoolean) or
  ``mitoxantrone-cumulative-dose`` (valueQuantity in mg/m2); the most recent one of each code counts.

"Active" is a clinicalStatus of active, recurrence or relapse, and a verificationStatus that is not
refuted or entered-in-error. Resources about another patient than the hook's are ignored. Nothing is
guessed: a missing MS type or severity, two different MS types, or an unreadable value is reported and
no advice is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from advisor.core.models import FACTS, exact_float, inexact
from advisor.kb.facts import FactSpec
from advisor.text import visible
from advisor.kb.vocabulary import LABELS
from advisor.kb.terminology import Terminology
from advisor.serve.fhir_time import TIME_EXAMPLES, TIME_FIELDS, in_future, interval, time_text, when_made

FACTS_SYSTEM = "urn:ms-infusion-advisor:facts"
UCUM = "http://unitsofmeasure.org"
# The packaged KB's Observation codes -> facts (a KB's own: Terminology.observations, from its facts.toml)
OBSERVATION_FACTS = {f.fhir.code: f.id for f in FACTS if f.fhir is not None}
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ACTIVE = {"active", "recurrence", "relapse"}
NOT_TRUE = {"refuted", "entered-in-error"}
FINAL = {"final", "amended", "corrected"}
PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "observations": f"Observation?patient={{{{context.patientId}}}}&code={FACTS_SYSTEM}|",
}


@dataclass
class Reading:
    """What the FHIR resources say: the facts found, and what is missing, assumed or wrong."""
    facts: dict[str, Any] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)      # required facts not recorded
    problems: list[str] = field(default_factory=list)     # recorded but unusable, or contradictory
    assumed: list[str] = field(default_factory=list)      # optional facts not recorded: defaults used
    remarks: list[str] = field(default_factory=list)      # e.g. MS recorded without its type

    @property
    def complete(self) -> bool:
        return not self.missing and not self.problems


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def usable(value: Any, kind: str) -> bool:
    """Whether a prefetched value is a whole answer to its query: a Bundle with no next page, or the
    resource itself. Anything else (null, an OperationOutcome for a failed prefetch, junk, the first
    page of a longer searchset) counts as not prefetched, so the service asks fhirServer for it whole."""
    return isinstance(value, dict) and value.get("resourceType") in ("Bundle", kind) and next_link(value) is None


def next_link(bundle: Any) -> Any:
    """The url of a searchset Bundle's next page (None where it names none, or for what is no Bundle)."""
    if not isinstance(bundle, dict):
        return None
    return next((link.get("url") for link in as_list(bundle.get("link"))
                 if isinstance(link, dict) and link.get("relation") == "next"), None)


def resources(bundle_or_resource: Any, kind: str) -> list[dict[str, Any]]:
    """The resources of one type in a searchset Bundle (or a single resource)."""
    if not isinstance(bundle_or_resource, dict):
        return []
    if bundle_or_resource.get("resourceType") == kind:
        return [bundle_or_resource]
    if bundle_or_resource.get("resourceType") != "Bundle":
        return []
    out = []
    for entry in as_list(bundle_or_resource.get("entry")):
        res = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(res, dict) and res.get("resourceType") == kind:
            out.append(res)
    return out


def codings(concept: Any) -> list[tuple[str, str]]:
    if not isinstance(concept, dict):
        return []
    return [(c["system"], c["code"]) for c in as_list(concept.get("coding"))
            if isinstance(c, dict) and isinstance(c.get("system"), str) and isinstance(c.get("code"), str)]


def _status(concept: Any, system: str) -> set[str]:
    """Codes of a status CodeableConcept in its HL7 code system (a coding without a system counts too)."""
    if not isinstance(concept, dict):
        return set()
    return {c["code"] for c in as_list(concept.get("coding"))
            if isinstance(c, dict) and isinstance(c.get("code"), str) and c.get("system") in (None, system)}


def _about(resource: dict[str, Any], patient_id: str) -> bool:
    subject = resource.get("subject")
    ref = subject.get("reference") if isinstance(subject, dict) else None
    if ref is None:
        return subject is None  # no subject at all: the query was for this patient
    return isinstance(ref, str) and (ref == f"Patient/{patient_id}" or ref.endswith(f"/Patient/{patient_id}"))


def _is_active(condition: dict[str, Any]) -> bool:
    return (bool(_status(condition.get("clinicalStatus"), CLINICAL) & ACTIVE)
            and not _status(condition.get("verificationStatus"), VERIFICATION) & NOT_TRUE)


ABATEMENT = ("abatementDateTime", "abatementAge", "abatementPeriod", "abatementRange", "abatementString")


def _status_problem(condition: dict[str, Any]) -> str | None:
    """Why an active Condition's status contradicts itself (None: it does not): a clinicalStatus with an
    active code and an inactive one, or an active one with an abatement (FHIR R4's con-4: an abated
    Condition is inactive, resolved or in remission)."""
    codes = _status(condition.get("clinicalStatus"), CLINICAL)
    if codes - ACTIVE:
        return f"its clinicalStatus has {' and '.join(sorted(codes))} together"
    abated = next((key for key in ABATEMENT if condition.get(key) is not None), None)
    if abated is not None:
        value = condition[abated]
        shown = f" {visible(value[:40])}" if isinstance(value, str) else ""
        return (f"its clinicalStatus is {' and '.join(sorted(codes))} but it has {abated}{shown} "
                "(FHIR con-4: an abated Condition is inactive, resolved or in remission)")
    return None


def observation_problems(obs: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, message) for each time of an Observation that is not a valid FHIR dateTime or instant."""
    out = []
    for key, kind in TIME_FIELDS.items():
        if key in obs and interval(obs[key], kind) is None:
            out.append((key, f"{_shown(obs[key])} is not a FHIR {kind} (e.g. {TIME_EXAMPLES[kind]})"))
    period = obs.get("effectivePeriod")
    if "effectivePeriod" in obs and not isinstance(period, dict):
        out.append(("effectivePeriod", f"must be a FHIR Period (an object with start and/or end), got {_kind(period)}"))
    elif isinstance(period, dict):
        out += [(f"effectivePeriod.{key}", f"{_shown(period[key])} is not a FHIR dateTime (e.g. {TIME_EXAMPLES['dateTime']})")
                for key in ("start", "end") if key in period and interval(period[key]) is None]
    return out


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return "'" + visible(value[:40]) + ("...'" if len(value) > 40 else "'")
    return _kind(value)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, (int, float, Decimal)) else type(value).__name__)


def _counts(obs: dict[str, Any], patient_id: str, codes: Any = OBSERVATION_FACTS) -> bool:
    """Whether an Observation is one the facts are read from: about the patient, final, one of our codes."""
    return _about(obs, patient_id) and obs.get("status") in FINAL and \
        any(system == FACTS_SYSTEM and code in codes for system, code in codings(obs.get("code")))


# --- the shapes of what the EHR sends: each prefetch key holds what its query answers ------------------
EXPECTED = {"patient": "Patient", "conditions": "Condition", "observations": "Observation"}


def shape_problems(key: str, value: Any, patient_id: str) -> list[tuple[str, str]]:
    """(field, message) for each way ``value``, given for prefetch ``key``, is not what the key's query
    answers: a Patient resource for ``patient``, a Bundle of Conditions (or Observations) for the others,
    and valid times on the Observations that count. None and an OperationOutcome (a failed prefetch,
    as the CDS Hooks specification allows) are not problems: they count as not prefetched."""
    kind = EXPECTED[key]
    query = PREFETCH[key].replace("{{context.patientId}}", patient_id)
    wanted = f"a FHIR {kind} resource (the answer to {query})" if key == "patient" else \
        f"a FHIR Bundle of {kind} resources (the answer to {query})"
    if value is None:
        return []
    if not isinstance(value, dict):
        return [(key, f"must be {wanted}, got {_kind(value)}")]
    rtype = value.get("resourceType")
    if rtype == "OperationOutcome":
        return []
    if not isinstance(rtype, str):
        return [(f"{key}.resourceType", f"must be {wanted}, got {_shown(rtype) if 'resourceType' in value else 'no resourceType'}")]
    if rtype != (kind if key == "patient" else "Bundle") and not (key != "patient" and rtype == kind):
        return [(key, f"must be {wanted}, got a {visible(rtype[:40])} resource")]
    if rtype != "Bundle":
        return _resource_problems(value, kind, patient_id, key)
    entries = value.get("entry", [])
    if not isinstance(entries, list):
        return [(f"{key}.entry", f"must be a list of entries (each with a resource), got {_kind(entries)}")]
    out: list[tuple[str, str]] = []
    for i, entry in enumerate(entries):
        where = f"{key}.entry[{i}]"
        if not isinstance(entry, dict):
            out.append((where, f"must be a Bundle entry (an object with a resource), got {_kind(entry)}"))
        elif not isinstance(entry.get("resource"), dict):
            out.append((f"{where}.resource", "must be a FHIR resource (an object with a resourceType), got "
                        + (_kind(entry["resource"]) if "resource" in entry else "none")))
        elif not isinstance(entry["resource"].get("resourceType"), str):
            out.append((f"{where}.resource.resourceType", "must be a FHIR resource type such as " + kind))
        else:
            out += [(f"{where}.resource.{field}", message) for field, message in _resource_problems(entry["resource"], kind, patient_id)]
        if len(out) >= 10:  # enough to act on; a hostile bundle gets a short answer
            break
    return out


def _resource_problems(resource: dict[str, Any], kind: str, patient_id: str, prefix: str = "") -> list[tuple[str, str]]:
    if kind == "Observation" and resource.get("resourceType") == kind and _counts(resource, patient_id):
        return [(f"{prefix}.{field}" if prefix else field, message) for field, message in observation_problems(resource)]
    return []


def read(data: dict[str, Any], patient_id: str, terms: Terminology, now: datetime | None = None) -> Reading:
    """Facts from ``data`` = {"conditions": Bundle, "observations": Bundle} for the patient, as of
    ``now`` (UTC; the clock by default): an Observation dated after it is a problem, not the latest."""
    r = Reading()
    now = now or datetime.now(timezone.utc)
    conditions = [c for c in resources(data.get("conditions"), "Condition") if _about(c, patient_id) and _is_active(c)]
    ms_found: dict[str, list[dict[str, Any]]] = {}
    found_conditions: list[str] = []
    unspecified = False
    for c in conditions:
        codes = codings(c.get("code"))
        types = {terms.ms_types[k] for k in codes if k in terms.ms_types}
        contradiction = _status_problem(c)
        if contradiction is not None:  # whether it is active cannot be known: neither counted nor left out
            named = {f"MS ({t})" for t in types} or {LABELS.get(terms.conditions[k], terms.conditions[k])
                                                      for k in codes if k in terms.conditions}
            if named:
                r.problems.append(f"the Condition recorded as {', '.join(sorted(named))}: {contradiction}, so whether it is active "
                                  "is unclear")
            continue
        for t in types:
            ms_found.setdefault(t, []).append(c)
        unspecified = unspecified or (not types and any(k in terms.unspecified for k in codes))
        for k in codes:
            cid = terms.conditions.get(k)
            if cid and cid not in found_conditions:
                found_conditions.append(cid)
    if unspecified and not ms_found:
        r.remarks.append(f"Multiple sclerosis is recorded without its type ({_codes(terms, 'unspecified_ms')}): that is not "
                         "an MS type; record the type as one of the codes above.")
    if len(ms_found) > 1:
        r.problems.append(f"active Conditions give different MS types ({', '.join(sorted(ms_found))}): the MS type is unclear")
    elif ms_found:
        (ms_type, ms_conditions), = ms_found.items()
        r.facts["ms_type"] = ms_type
        severities = {terms.severities[k] for c in ms_conditions for k in codings(c.get("severity")) if k in terms.severities}
        if len(severities) > 1:
            r.problems.append(f"the MS Condition's severity has several values ({', '.join(sorted(severities))}): it is unclear")
        elif severities:
            r.facts["severity"] = severities.pop()
        else:
            r.missing.append(f"severity (the MS Condition's severity: {_codes(terms, 'severity')})")
    else:
        r.missing.append(f"MS type (an active Condition coded {_codes(terms, 'ms_type')})")
        r.missing.append("severity (recorded on that MS Condition)")
    r.facts["conditions"] = found_conditions

    found: dict[str, list[tuple[dict[str, Any], tuple[datetime, datetime]]]] = {}
    future: dict[str, str] = {}
    for obs in resources(data.get("observations"), "Observation"):
        if _counts(obs, patient_id, terms.observations):
            when = when_made(obs)
            for system, code in codings(obs.get("code")):
                if system == FACTS_SYSTEM and code in terms.observations:
                    if in_future(when, now):
                        future.setdefault(code, time_text(obs))
                    else:
                        found.setdefault(code, []).append((obs, when))
    for code, text in future.items():  # a date mistyped (2099): never taken as the latest value
        r.problems.append(f"Observation {code}: one is dated {visible(text[:40])}, in the future (this service's clock says "
                          f"{now.isoformat(timespec='seconds').replace('+00:00', 'Z')}): which value is current is unclear")
    # per fact, the latest Observations: each one that no other was made wholly after (a date without
    # a time can be neither before nor after a time on that date: both count, and must agree)
    latest: dict[str, list[dict[str, Any]]] = {}
    for code, group in found.items():
        newest = max(start for _, (start, _) in group)
        # (the newest itself always: a time at the end of what can be represented has an empty span)
        latest[code] = [obs for obs, (start, end) in group if end > newest or start == newest]
    for code, spec in terms.observations.items():
        fact = spec.id
        if code not in latest:
            r.assumed.append(fact)
            continue
        read = [_value(spec, obs) for obs in latest[code]]
        problems = [problem for _, problem in read if problem]
        values = list(dict.fromkeys(repr(value) for value, problem in read if not problem))
        if problems:
            r.problems.append(f"Observation {code}: {problems[0]}")
        elif len(values) > 1:  # never pick one: which is right cannot be known
            r.problems.append(f"Observation {code}: several recorded at the same (or an overlapping) time with different values "
                              f"({', '.join(values)}): unclear")
        else:
            r.facts[fact] = read[0][0]
    return r


def _codes(terms: Terminology, table: str) -> str:
    """The codes of one fhir.toml table, for messages: 'SNOMED 426373005 relapsing, …'."""
    names = {"http://snomed.info/sct": "SNOMED", "http://hl7.org/fhir/sid/icd-10": "ICD-10",
             "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM"}
    return ", ".join(f"{names.get(c.system, c.system)} {c.code} {value if table != 'unspecified_ms' else ''}".rstrip()
                     for value, codes in getattr(terms.entries, table).items() for c in codes)


def _value(spec: FactSpec, obs: dict[str, Any]) -> tuple[Any, str | None]:
    assert spec.fhir is not None
    if spec.fhir.value == "integer":
        v = obs.get("valueInteger")
        if isinstance(v, bool) or not isinstance(v, int):
            return None, "needs valueInteger (a whole number)"
        return v, None
    if spec.fhir.value == "boolean":
        v = obs.get("valueBoolean")
        if not isinstance(v, bool):
            return None, "needs valueBoolean (true or false)"
        return v, None
    ucum, amount = spec.fhir.ucum or "", f"the {spec.amount or 'value'}"
    units = tuple(dict.fromkeys((ucum, spec.unit or ucum)))
    q = obs.get("valueQuantity")
    if isinstance(q, dict) and q.get("comparator") is not None:  # "> 100": the dose may be anything past it
        c = q["comparator"]
        meaning = COMPARATORS.get(c) if isinstance(c, str) else None
        shown = f"'{visible(c[:10])}'" if isinstance(c, str) else _kind(c)
        return None, (f"valueQuantity has the comparator {shown}" + (f" ({meaning} the value)" if meaning else "")
                      + f": {amount} is not known exactly, so it is unclear")
    if isinstance(q, dict) and isinstance(q.get("value"), Decimal):  # more digits than a float holds: never rounded
        exact = exact_float(q["value"])
        if exact is None:
            return None, f"valueQuantity.value {inexact(q['value'])}"
        q = {**q, "value": exact}
    if not isinstance(q, dict) or isinstance(q.get("value"), bool) or not isinstance(q.get("value"), (int, float)):
        return None, f"needs valueQuantity with a numeric value in {ucum}"
    unit_ok = (q.get("system") == UCUM and q.get("code") == ucum) or (q.get("system") is None and q.get("code") is None
                                                                    and q.get("unit") in units)
    if not unit_ok:
        return None, f"{amount} must be in {ucum} (UCUM code {ucum}), got {q.get('code') or q.get('unit')!r}"
    return float(q["value"]), None


COMPARATORS = {"<": "less than", "<=": "at most", ">=": "at least", ">": "more than", "ad": "sufficient to achieve"}
