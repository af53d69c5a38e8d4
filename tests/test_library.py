"""The Python library's surface: a drug by any name the command line takes, an unknown drug a KeyError
listing the drugs, one base for every library error (never the CLI's), enums printing as their values,
and docstrings with an example on every public name."""

import json

import pytest
from click.testing import CliRunner

import advisor
from advisor import Advisor, AdvisorError, CaseFileError, InvalidFacts, KnowledgeBaseError, UnknownDrug, advise
from advisor.cli import main


def run(*args, input=None, env=None, color=False):
    return CliRunner().invoke(main, list(args), input=input, env={"COLUMNS": "100", **(env or {})}, color=color)


FACTS = ["--ms-type", "relapsing", "--severity", "severe", "--prior-failures", "2"]


CASE = {"id": "a", "ms_type": "spms", "severity": "severe", "prior_failures": 2, "conditions": ["pml"]}


@pytest.mark.parametrize("name", ["tysabri", "Tysabri", "TYSABRI", "natalizumab", "Natalizumab", " natalizumab "])
def test_recommendation_drug_takes_every_name_the_cli_takes(name):
    assert advise({"ms_type": "relapsing", "severity": "mild"}).drug(name).drug == "natalizumab"


def test_an_unknown_drug_is_a_key_error_listing_the_drugs():
    rec = advise({"ms_type": "relapsing", "severity": "mild"})
    with pytest.raises(KeyError) as e:
        rec.drug("aspirin")
    assert isinstance(e.value, UnknownDrug) and isinstance(e.value, AdvisorError)
    assert str(e.value) == "unknown drug 'aspirin' (allowed: alemtuzumab, natalizumab, mitoxantrone, ocrelizumab)"
    r = run("explain", "aspirin", *FACTS)
    assert r.exit_code == 2 and "allowed: alemtuzumab" in r.stderr


def test_one_base_for_every_library_error():
    from advisor.batch import BatchError

    for cls in (InvalidFacts, KnowledgeBaseError, CaseFileError, UnknownDrug, BatchError):
        assert issubclass(cls, AdvisorError)
    with pytest.raises(AdvisorError):
        advise({"ms_type": "cis", "severity": "mild"})
    from advisor.batch import read_case

    with pytest.raises(CaseFileError):
        read_case("/nonexistent/case.yaml")


def test_the_library_raises_its_own_errors_not_the_clis(tmp_path):
    from advisor.batch import OutputError, run_to_file
    f = tmp_path / "c.jsonl"
    f.write_text(json.dumps(CASE) + "\n")
    with pytest.raises(OutputError, match="no such directory"):
        run_to_file([str(f)], str(tmp_path / "no" / "o.jsonl"), advisor=Advisor(), progress=False)
    import inspect

    from advisor.batch import output
    assert "on_error" not in inspect.signature(run_to_file).parameters and "click" not in inspect.getsource(output)
    assert not hasattr(Advisor(), "derived")


def test_enums_print_as_their_values():
    from advisor import Condition, MSType, Severity, Status

    for enum in (Status, MSType, Severity, Condition):
        for member in enum:
            assert str(member) == f"{member}" == member.value and f"{member:>40}" == f"{member.value:>40}"
            assert member == member.value and isinstance(member, str)
    assert json.dumps({"status": Status.applicable}) == '{"status": "applicable"}'


def test_public_names_have_docstrings_with_an_example():
    import doctest

    from advisor import batch, errors, render, schedule
    from advisor.batch import readers
    from advisor.core import advisor as core
    from advisor.core import models as models
    from advisor.core import schemas as schema

    for obj in (advisor, advisor.advise, advisor.Advisor, advisor.Recommendation, advisor.Recommendation.drug,
                models.DrugAdvice, batch.evaluate, batch.read_paths, core.Advisor.explain):
        assert obj.__doc__ and ">>>" in obj.__doc__, obj
    for module in (advisor, errors, models, core, render, schedule, schema, batch, readers, advisor.api):
        failed, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert failed == 0, module.__name__
