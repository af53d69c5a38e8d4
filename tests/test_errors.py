"""One error tree (every exception class of the package is an AdvisorError, drawn in advisor.errors'
docstring) and one boundary (the CLI shows each as one line and exit 2, as it did before the tree)."""

import importlib
import inspect
import pkgutil

import pytest
from click.testing import CliRunner

import advisor
from advisor import AdvisorError, FileError, ServiceError, errors
from advisor.cli import main


def exception_classes():
    """Every exception class defined in a module of the advisor package (its __main__ modules aside)."""
    found = {}
    for info in pkgutil.walk_packages(advisor.__path__, "advisor."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == info.name:
                found[f"{info.name}.{name}"] = obj
    return found


def test_every_exception_class_of_the_package_is_an_advisor_error():
    classes = exception_classes()
    for name in ("advisor.serve.auth.AuthError", "advisor.serve.auth.TrustError", "advisor.serve.store.StoreError",
                 "advisor.serve.fhir_fetch.FetchError", "advisor.serve.bodies.BadBody", "advisor.atomic.WriteError",
                 "advisor.atomic.ReadError", "advisor.batch.errors.BatchError", "advisor.batch.casefile.DuplicateKey"):
        assert name in classes  # the walk finds the modules
    outside = sorted(name for name, cls in classes.items() if not issubclass(cls, AdvisorError))
    # Not errors of the tree, by design: the CLI's own click exceptions are what the boundary turns every
    # AdvisorError into (click prints them), and Stop is a KeyboardInterrupt, a signal that must pass
    # every `except Exception`. Any other class outside the tree fails here.
    assert outside == ["advisor.cli.common.OneLineUsageError", "advisor.cli.common.UserError", "advisor.stopping.Stop"]


def drawn_tree():
    """(column, name) of each line of the tree drawn in advisor.errors' docstring."""
    tree = errors.__doc__.split("::\n\n", 1)[1].split("\n\n", 1)[0]
    entries = []
    for line in tree.splitlines():
        column = len(line) - len(line.lstrip(" │├└─"))
        entries.append((column, line[column:].split()[0]))
    return entries


def test_the_tree_drawn_in_errors_shows_every_error_under_its_parent():
    entries = drawn_tree()
    names = [name for _, name in entries]
    drawn = {cls.__name__: cls for cls in exception_classes().values() if issubclass(cls, AdvisorError)}
    assert sorted(names) == sorted(name for name in drawn if not name.startswith("_"))  # module-private ones aside
    for k, (column, name) in enumerate(entries[1:], 1):
        parent = next(above for col, above in reversed(entries[:k]) if col < column)
        python_parent = next(base for base in drawn[name].__mro__[1:] if issubclass(base, AdvisorError))
        assert parent == python_parent.__name__, (name, parent, python_parent)


def test_built_in_bases_are_kept_for_callers_that_catch_them():
    from advisor.atomic import ReadError, WriteError
    from advisor.serve.auth import TrustError
    from advisor.serve.bodies import BadBody
    from advisor.serve.store import StoreError

    assert issubclass(errors.UnknownDrug, KeyError) and issubclass(WriteError, OSError) and issubclass(ReadError, OSError)
    assert issubclass(TrustError, ValueError) and issubclass(BadBody, ValueError) and issubclass(StoreError, RuntimeError)
    assert issubclass(WriteError, FileError) and issubclass(StoreError, ServiceError) and issubclass(TrustError, ServiceError)


def files(d):
    (d / "emptykb").mkdir()
    (d / "two.yaml").write_text("- {ms_type: ppms, severity: mild}\n- {ms_type: ppms, severity: mild}\n")
    (d / "one.yaml").write_text("ms_type: ppms\nseverity: mild\n")
    (d / "bad.yaml").write_text("ms_type: [\n")
    (d / "jwks.json").write_text("not json")


KB_PROBLEMS = ("kb.toml: file is missing\nstatuses.toml: file is missing\nconditions.toml: file is missing\n"
               "drugs.toml: file is missing\ndecisions.toml: file is missing\ncautions.toml: file is missing\n"
               "notes.toml: file is missing\nkb.toml: name: Field required\nkb.toml: version: Field required\n"
               "kb.toml: source: Field required\nkb.toml: source_title: Field required\nkb.toml: disclaimer: Field required\n"
               "kb.toml: caution_note: Field required\n")

# What the command line showed for each error before its errors became one tree with one boundary
# (recorded from the commands themselves); TMP stands for the test's directory.
SHOWN = {
    "bad facts": (["advise", "--ms-type", "bogus", "--severity", "mild"],
                  "ms-advisor: invalid facts: ms_type: unknown MS type 'bogus' (allowed: relapsing, spms, ppms, primary "
                  "progressive, primary-progressive, relapsing remitting, relapsing-remitting, rrms, secondary progressive, "
                  "secondary-progressive)\n"),
    "bad facts from a case file": (["advise", "--case", "TMP/one.yaml", "--condition", "nonsense"],
                                   "ms-advisor: invalid facts: conditions: item 1: unknown condition 'nonsense' (allowed: "
                                   "hepatitis_b, shingles, heart_failure, kidney_disease, liver_disease, cancer, "
                                   "other_autoimmune_disease, blood_disorder, depression, infections, weakened_immune_system, "
                                   "pml, allergies, past_infusion_reaction)\n"),
    "bad KB dir": (["advise", "--ms-type", "ppms", "--severity", "mild", "--rules-dir", "TMP/emptykb"],
                   "ms-advisor: invalid knowledge base:\n" + KB_PROBLEMS),
    "bad KB dir named by kb diff": (["kb", "diff", "TMP/emptykb", "TMP/emptykb"],
                                    "ms-advisor: OLD_DIR: TMP/emptykb: invalid knowledge base:\n" + KB_PROBLEMS),
    "several cases for --case": (["advise", "--case", "TMP/two.yaml"],
                                 "ms-advisor: TMP/two.yaml: holds 2 cases, not one case (a mapping of fact names to values); "
                                 "--case reads one person's facts: for a file of cases use `ms-advisor batch TMP/two.yaml "
                                 "--out RESULTS`\n"),
    "bad case file": (["advise", "--case", "TMP/bad.yaml"],
                      "ms-advisor: TMP/bad.yaml: not valid YAML: while parsing a flow node did not find expected node "
                      "content in \"<unicode string>\", line 2, column 1\n"),
    "unknown drug": (["explain", "aspirin", "--ms-type", "ppms", "--severity", "mild"],
                     "ms-advisor: unknown drug 'aspirin' (allowed: alemtuzumab, natalizumab, mitoxantrone, ocrelizumab)\n"),
    "schedule error": (["schedule", "mitoxantrone", "--start", "9999-12-30", "--count", "100"],
                       "ms-advisor: --start 9999-12-30: the schedule runs past the year 9999 (the last date a calendar here "
                       "can hold); give an earlier --start or a smaller --count\n"),
    "batch write error": (["batch", "TMP/one.yaml", "--out", "TMP/missing/x"],
                          "ms-advisor: --out: cannot write TMP/missing/x: no such directory TMP/missing\n"),
    "--ics write error": (["schedule", "ocrelizumab", "--start", "2027-01-04", "--ics", "TMP/missing/x"],
                          "ms-advisor: --ics: TMP/missing/x: cannot write in TMP/missing: No such file or directory\n"),
    "--dmn write error": (["kb", "export", "--dmn", "TMP/missing/x"],
                          "ms-advisor: --dmn: TMP/missing/x: cannot write in TMP/missing: No such file or directory\n"),
    "bad --trust file": (["serve", "--trust", "https://ehr.example.org=TMP/jwks.json", "--public-url", "https://cds.example.org",
                          "--db", "TMP/db.sqlite"],
                         "ms-advisor: --trust https://ehr.example.org: TMP/jwks.json: not a usable JWKS: not JSON text "
                         "(Expecting value: line 1 column 1 (char 0))\n"),
    "bad decision log": (["log", "--db", "TMP/jwks.json"],
                         "ms-advisor: TMP/jwks.json: cannot be used as the decision log: file is not a database\n"),
}


@pytest.mark.parametrize("case", SHOWN)
def test_the_cli_shows_each_error_as_before(case, tmp_path):
    files(tmp_path)
    argv, shown = SHOWN[case]
    r = CliRunner().invoke(main, [a.replace("TMP", str(tmp_path)) for a in argv])
    assert (r.exit_code, r.stdout, r.stderr.replace(str(tmp_path), "TMP")) == (2, "", shown)


def test_an_advisor_error_from_any_command_is_one_line_and_exit_2(monkeypatch):
    from advisor.cli import advice

    def broken(*args, **kwargs):
        raise ServiceError("the log is\x1b[31m locked")

    monkeypatch.setattr(advice, "emit", broken)  # `conditions` had no handler of its own
    r = CliRunner().invoke(main, ["conditions"])
    assert (r.exit_code, r.stdout, r.stderr) == (2, "", "ms-advisor: the log is\\x1b[31m locked\n")
