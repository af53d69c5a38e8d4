"""The full status table over the decision space, written out as expected values.

Columns: MS type, severity, prior failures, rapidly worsening, mitoxantrone received (mg/m²) | the
status of alemtuzumab, natalizumab, mitoxantrone, ocrelizumab: A applicable, C consider,
N no_criteria, - not applicable, X excluded. Written from the decision semantics of the article
(natalizumab: no criteria for any facts; mitoxantrone
excluded for MS that is not severe: "…so mitoxantrone should only be used in severe MS cases."), not
from the knowledge base, so a KB change that alters any answer fails here.
"""

import pytest

from advisor import Advisor, advise

TABLE = """
relapsing mild     0 no  0     | - N X A
relapsing mild     0 no  139.9 | - N X A
relapsing mild     0 no  140   | - N X A
relapsing mild     0 yes 0     | - N X A
relapsing mild     0 yes 139.9 | - N X A
relapsing mild     0 yes 140   | - N X A
relapsing mild     1 no  0     | - N X A
relapsing mild     1 no  139.9 | - N X A
relapsing mild     1 no  140   | - N X A
relapsing mild     1 yes 0     | - N X A
relapsing mild     1 yes 139.9 | - N X A
relapsing mild     1 yes 140   | - N X A
relapsing mild     2 no  0     | A N X A
relapsing mild     2 no  139.9 | A N X A
relapsing mild     2 no  140   | A N X A
relapsing mild     2 yes 0     | A N X A
relapsing mild     2 yes 139.9 | A N X A
relapsing mild     2 yes 140   | A N X A
relapsing mild     3 no  0     | A N X A
relapsing mild     3 no  139.9 | A N X A
relapsing mild     3 no  140   | A N X A
relapsing mild     3 yes 0     | A N X A
relapsing mild     3 yes 139.9 | A N X A
relapsing mild     3 yes 140   | A N X A
relapsing moderate 0 no  0     | - N X A
relapsing moderate 0 no  139.9 | - N X A
relapsing moderate 0 no  140   | - N X A
relapsing moderate 0 yes 0     | - N X A
relapsing moderate 0 yes 139.9 | - N X A
relapsing moderate 0 yes 140   | - N X A
relapsing moderate 1 no  0     | - N X A
relapsing moderate 1 no  139.9 | - N X A
relapsing moderate 1 no  140   | - N X A
relapsing moderate 1 yes 0     | - N X A
relapsing moderate 1 yes 139.9 | - N X A
relapsing moderate 1 yes 140   | - N X A
relapsing moderate 2 no  0     | A N X A
relapsing moderate 2 no  139.9 | A N X A
relapsing moderate 2 no  140   | A N X A
relapsing moderate 2 yes 0     | A N X A
relapsing moderate 2 yes 139.9 | A N X A
relapsing moderate 2 yes 140   | A N X A
relapsing moderate 3 no  0     | A N X A
relapsing moderate 3 no  139.9 | A N X A
relapsing moderate 3 no  140   | A N X A
relapsing moderate 3 yes 0     | A N X A
relapsing moderate 3 yes 139.9 | A N X A
relapsing moderate 3 yes 140   | A N X A
relapsing severe   0 no  0     | - N C A
relapsing severe   0 no  139.9 | - N C A
relapsing severe   0 no  140   | - N X A
relapsing severe   0 yes 0     | - N A A
relapsing severe   0 yes 139.9 | - N A A
relapsing severe   0 yes 140   | - N X A
relapsing severe   1 no  0     | - N C A
relapsing severe   1 no  139.9 | - N C A
relapsing severe   1 no  140   | - N X A
relapsing severe   1 yes 0     | - N A A
relapsing severe   1 yes 139.9 | - N A A
relapsing severe   1 yes 140   | - N X A
relapsing severe   2 no  0     | A N C A
relapsing severe   2 no  139.9 | A N C A
relapsing severe   2 no  140   | A N X A
relapsing severe   2 yes 0     | A N A A
relapsing severe   2 yes 139.9 | A N A A
relapsing severe   2 yes 140   | A N X A
relapsing severe   3 no  0     | A N C A
relapsing severe   3 no  139.9 | A N C A
relapsing severe   3 no  140   | A N X A
relapsing severe   3 yes 0     | A N A A
relapsing severe   3 yes 139.9 | A N A A
relapsing severe   3 yes 140   | A N X A
spms      mild     0 no  0     | - N X -
spms      mild     0 no  139.9 | - N X -
spms      mild     0 no  140   | - N X -
spms      mild     0 yes 0     | - N X -
spms      mild     0 yes 139.9 | - N X -
spms      mild     0 yes 140   | - N X -
spms      mild     1 no  0     | - N X -
spms      mild     1 no  139.9 | - N X -
spms      mild     1 no  140   | - N X -
spms      mild     1 yes 0     | - N X -
spms      mild     1 yes 139.9 | - N X -
spms      mild     1 yes 140   | - N X -
spms      mild     2 no  0     | A N X -
spms      mild     2 no  139.9 | A N X -
spms      mild     2 no  140   | A N X -
spms      mild     2 yes 0     | A N X -
spms      mild     2 yes 139.9 | A N X -
spms      mild     2 yes 140   | A N X -
spms      mild     3 no  0     | A N X -
spms      mild     3 no  139.9 | A N X -
spms      mild     3 no  140   | A N X -
spms      mild     3 yes 0     | A N X -
spms      mild     3 yes 139.9 | A N X -
spms      mild     3 yes 140   | A N X -
spms      moderate 0 no  0     | - N X -
spms      moderate 0 no  139.9 | - N X -
spms      moderate 0 no  140   | - N X -
spms      moderate 0 yes 0     | - N X -
spms      moderate 0 yes 139.9 | - N X -
spms      moderate 0 yes 140   | - N X -
spms      moderate 1 no  0     | - N X -
spms      moderate 1 no  139.9 | - N X -
spms      moderate 1 no  140   | - N X -
spms      moderate 1 yes 0     | - N X -
spms      moderate 1 yes 139.9 | - N X -
spms      moderate 1 yes 140   | - N X -
spms      moderate 2 no  0     | A N X -
spms      moderate 2 no  139.9 | A N X -
spms      moderate 2 no  140   | A N X -
spms      moderate 2 yes 0     | A N X -
spms      moderate 2 yes 139.9 | A N X -
spms      moderate 2 yes 140   | A N X -
spms      moderate 3 no  0     | A N X -
spms      moderate 3 no  139.9 | A N X -
spms      moderate 3 no  140   | A N X -
spms      moderate 3 yes 0     | A N X -
spms      moderate 3 yes 139.9 | A N X -
spms      moderate 3 yes 140   | A N X -
spms      severe   0 no  0     | - N A -
spms      severe   0 no  139.9 | - N A -
spms      severe   0 no  140   | - N X -
spms      severe   0 yes 0     | - N A -
spms      severe   0 yes 139.9 | - N A -
spms      severe   0 yes 140   | - N X -
spms      severe   1 no  0     | - N A -
spms      severe   1 no  139.9 | - N A -
spms      severe   1 no  140   | - N X -
spms      severe   1 yes 0     | - N A -
spms      severe   1 yes 139.9 | - N A -
spms      severe   1 yes 140   | - N X -
spms      severe   2 no  0     | A N A -
spms      severe   2 no  139.9 | A N A -
spms      severe   2 no  140   | A N X -
spms      severe   2 yes 0     | A N A -
spms      severe   2 yes 139.9 | A N A -
spms      severe   2 yes 140   | A N X -
spms      severe   3 no  0     | A N A -
spms      severe   3 no  139.9 | A N A -
spms      severe   3 no  140   | A N X -
spms      severe   3 yes 0     | A N A -
spms      severe   3 yes 139.9 | A N A -
spms      severe   3 yes 140   | A N X -
ppms      mild     0 no  0     | - N X A
ppms      mild     0 no  139.9 | - N X A
ppms      mild     0 no  140   | - N X A
ppms      mild     0 yes 0     | - N X A
ppms      mild     0 yes 139.9 | - N X A
ppms      mild     0 yes 140   | - N X A
ppms      mild     1 no  0     | - N X A
ppms      mild     1 no  139.9 | - N X A
ppms      mild     1 no  140   | - N X A
ppms      mild     1 yes 0     | - N X A
ppms      mild     1 yes 139.9 | - N X A
ppms      mild     1 yes 140   | - N X A
ppms      mild     2 no  0     | A N X A
ppms      mild     2 no  139.9 | A N X A
ppms      mild     2 no  140   | A N X A
ppms      mild     2 yes 0     | A N X A
ppms      mild     2 yes 139.9 | A N X A
ppms      mild     2 yes 140   | A N X A
ppms      mild     3 no  0     | A N X A
ppms      mild     3 no  139.9 | A N X A
ppms      mild     3 no  140   | A N X A
ppms      mild     3 yes 0     | A N X A
ppms      mild     3 yes 139.9 | A N X A
ppms      mild     3 yes 140   | A N X A
ppms      moderate 0 no  0     | - N X A
ppms      moderate 0 no  139.9 | - N X A
ppms      moderate 0 no  140   | - N X A
ppms      moderate 0 yes 0     | - N X A
ppms      moderate 0 yes 139.9 | - N X A
ppms      moderate 0 yes 140   | - N X A
ppms      moderate 1 no  0     | - N X A
ppms      moderate 1 no  139.9 | - N X A
ppms      moderate 1 no  140   | - N X A
ppms      moderate 1 yes 0     | - N X A
ppms      moderate 1 yes 139.9 | - N X A
ppms      moderate 1 yes 140   | - N X A
ppms      moderate 2 no  0     | A N X A
ppms      moderate 2 no  139.9 | A N X A
ppms      moderate 2 no  140   | A N X A
ppms      moderate 2 yes 0     | A N X A
ppms      moderate 2 yes 139.9 | A N X A
ppms      moderate 2 yes 140   | A N X A
ppms      moderate 3 no  0     | A N X A
ppms      moderate 3 no  139.9 | A N X A
ppms      moderate 3 no  140   | A N X A
ppms      moderate 3 yes 0     | A N X A
ppms      moderate 3 yes 139.9 | A N X A
ppms      moderate 3 yes 140   | A N X A
ppms      severe   0 no  0     | - N C A
ppms      severe   0 no  139.9 | - N C A
ppms      severe   0 no  140   | - N X A
ppms      severe   0 yes 0     | - N A A
ppms      severe   0 yes 139.9 | - N A A
ppms      severe   0 yes 140   | - N X A
ppms      severe   1 no  0     | - N C A
ppms      severe   1 no  139.9 | - N C A
ppms      severe   1 no  140   | - N X A
ppms      severe   1 yes 0     | - N A A
ppms      severe   1 yes 139.9 | - N A A
ppms      severe   1 yes 140   | - N X A
ppms      severe   2 no  0     | A N C A
ppms      severe   2 no  139.9 | A N C A
ppms      severe   2 no  140   | A N X A
ppms      severe   2 yes 0     | A N A A
ppms      severe   2 yes 139.9 | A N A A
ppms      severe   2 yes 140   | A N X A
ppms      severe   3 no  0     | A N C A
ppms      severe   3 no  139.9 | A N C A
ppms      severe   3 no  140   | A N X A
ppms      severe   3 yes 0     | A N A A
ppms      severe   3 yes 139.9 | A N A A
ppms      severe   3 yes 140   | A N X A
"""
CODES = {"A": "applicable", "C": "consider", "N": "no_criteria", "-": "not_applicable", "X": "excluded"}
DRUGS = ("alemtuzumab", "natalizumab", "mitoxantrone", "ocrelizumab")


def rows():
    for line in TABLE.strip().splitlines():
        facts, statuses = line.split("|")
        ms_type, severity, failures, worsening, dose = facts.split()
        yield (
            {"ms_type": ms_type, "severity": severity, "prior_failures": int(failures),
             "rapidly_worsening": worsening == "yes", "mitoxantrone_cumulative_mg_m2": float(dose)},
            dict(zip(DRUGS, (CODES[c] for c in statuses.split()))),
        )


ROWS = list(rows())


def test_table_covers_the_whole_decision_space():
    assert len(ROWS) == 3 * 3 * 4 * 2 * 3
    assert len({tuple(sorted(f.items())) for f, _ in ROWS}) == len(ROWS)


@pytest.mark.parametrize("facts,expected", ROWS, ids=[" ".join(str(v) for v in f.values()) for f, _ in ROWS])
def test_status_of_every_drug(facts, expected):
    rec = advise(facts)
    assert {d.drug: d.status.value for d in rec.drugs} == expected
    applicable = [d for d in DRUGS if expected[d] == "applicable"]
    consider = [d for d in DRUGS if expected[d] == "consider"]
    assert list(rec.listed) == applicable + consider


@pytest.mark.slow
def test_uncached_engine_gives_the_same_table():
    uncached = Advisor(cache=False)
    for facts, expected in ROWS:
        assert {d.drug: d.status.value for d in uncached.advise(facts).drugs} == expected, facts
