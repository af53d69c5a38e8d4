"""`advise --case FILE` and `explain --case FILE` read through the batch reader registry: every format and
its gzip as batch reads them, stdin and unknown suffixes, a file of several cases refused naming how many
and pointing to batch, a gzip bomb refused in one line, and read_case as the library's reader."""

import gzip
import json

import pytest
from click.testing import CliRunner

from advisor.batch import read_case, readers
from advisor.cli import main
from advisor.errors import CaseFileError, InvalidFacts, SeveralCases


def write(tmp_path, name, text, gz=False):
    path = tmp_path / (name + (".gz" if gz else ""))
    data = text.encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input)


PERSON = {"id": "p-1", "ms_type": "spms", "severity": "severe", "prior_failures": 1, "conditions": ["pml", "cancer"]}


FILES = {  # one person, in each format the registry knows
    "p.yaml": "id: p-1\nms_type: spms\nseverity: severe\nprior_failures: 1\nconditions: [pml, cancer]\n",
    "p.yml": "id: p-1\nms_type: spms\nseverity: severe\nprior_failures: 1\nconditions: [pml, cancer]\n",
    "p.json": json.dumps(PERSON),
    "p.jsonl": json.dumps(PERSON) + "\n",
    "p.ndjson": json.dumps(PERSON) + "\n",
    "p.csv": "id,ms_type,severity,prior_failures,conditions\np-1,spms,severe,1,pml;cancer\n",
    "p.tsv.txt": None,  # an unknown suffix: YAML, as before (reads JSON too)
}


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzipped"])
@pytest.mark.parametrize("name", [n for n, t in FILES.items() if t is not None])
def test_case_files_of_every_format_give_the_facts_batch_reads(tmp_path, name, gz):
    path = write(tmp_path, name, FILES[name], gz)
    r = run("advise", "--case", str(path), "--format", "json")
    assert r.exit_code == 0, r.output
    facts = json.loads(r.stdout)["facts"]
    b = run("batch", str(path), "--out", "-", "--echo-facts")
    [record] = [json.loads(line) for line in b.stdout.splitlines()]
    assert facts == record["facts"] and facts["prior_failures"] == 1 and facts["conditions"] == ["pml", "cancer"]
    assert facts["id"] == "p-1"


def test_explain_reads_the_same_case_files(tmp_path):
    path = write(tmp_path, "p.csv", FILES["p.csv"], gz=True)
    r = run("explain", "mitoxantrone", "--case", str(path), "--format", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["recommendation"]["facts"]["severity"] == "severe", r.output


def test_stdin_and_unknown_suffixes_are_yaml_or_json_and_may_be_gzipped(tmp_path):
    for data in (FILES["p.yaml"].encode(), FILES["p.json"].encode(), gzip.compress(FILES["p.json"].encode())):
        r = CliRunner().invoke(main, ["advise", "--case", "-", "--format", "json"], input=data)
        assert r.exit_code == 0 and json.loads(r.stdout)["facts"]["conditions"] == ["pml", "cancer"], r.output
    path = write(tmp_path, "person.txt", FILES["p.json"])
    assert run("advise", "--case", str(path), "--format", "json").exit_code == 0


@pytest.mark.parametrize("name,text,count", [
    ("many.jsonl", "".join(json.dumps({**PERSON, "id": f"p{i}"}) + "\n" for i in range(3)), 3),
    ("many.csv", "ms_type,severity\nspms,mild\nppms,mild\n", 2),
    ("many.json", json.dumps([PERSON, PERSON]), 2),
    ("many.yaml", "ms_type: spms\nseverity: mild\n---\nms_type: ppms\nseverity: mild\n", 2),
    ("list.yaml", "- ms_type: spms\n  severity: mild\n- ms_type: ppms\n  severity: mild\n", 2),
])
def test_a_file_of_several_cases_is_refused_naming_how_many_and_pointing_to_batch(tmp_path, name, text, count):
    path = write(tmp_path, name, text)
    r = run("advise", "--case", str(path))
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr == (f"ms-advisor: {path}: holds {count} cases, not one case (a mapping of fact names to values); "
                        f"--case reads one person's facts: for a file of cases use `ms-advisor batch {path} --out RESULTS`\n")
    with pytest.raises(SeveralCases) as e:
        read_case(str(path))
    assert e.value.count == count and isinstance(e.value, CaseFileError)


def test_a_list_of_one_case_is_still_a_file_of_cases(tmp_path):
    path = write(tmp_path, "one.json", json.dumps([PERSON]))
    r = run("advise", "--case", str(path))
    assert r.exit_code == 2 and f"{path}: holds a list of 1 case, not one case" in r.stderr and "ms-advisor batch" in r.stderr


def test_the_reader_comes_from_the_registry(tmp_path, monkeypatch):
    """A format's reader is one function in one place: replacing the registry's YAML reader changes
    what --case reads (a new format added to READERS works for --case the same way)."""
    seen = []

    def yaml_reader(stream, name, options):
        seen.append(name)
        yield readers.RawCase(f"{name}:1", "object", {"ms_type": "ppms", "severity": "mild"})
    monkeypatch.setitem(readers.READERS, "yaml", yaml_reader)
    path = write(tmp_path, "p.yaml", "anything\n")
    r = run("advise", "--case", str(path), "--format", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["listed"] == ["ocrelizumab"] and seen == [str(path)]


def test_read_case_is_the_library_reader_with_its_own_errors(tmp_path):
    assert read_case(str(write(tmp_path, "p.csv", FILES["p.csv"]))) == PERSON
    with pytest.raises(InvalidFacts, match=r"\(row\): 1 more cell"):  # as batch refuses that row
        read_case(str(write(tmp_path, "bad.csv", "ms_type,severity\nspms,mild,2\n")))
    with pytest.raises(InvalidFacts, match="ms_type: is given twice"):
        read_case(str(write(tmp_path, "twice.json", '{"ms_type": "spms", "ms_type": "ppms"}')))
    with pytest.raises(CaseFileError, match="is empty"):
        read_case(str(write(tmp_path, "empty.jsonl", "\n\n")))


def test_a_gzip_bomb_or_a_broken_gzip_is_refused_in_one_line(tmp_path):
    bomb = tmp_path / "bomb.json.gz"
    bomb.write_bytes(gzip.compress(b" " * (9 * 2**20) + FILES["p.json"].encode()))
    r = run("advise", "--case", str(bomb))
    assert r.exit_code == 2 and r.stderr == f"ms-advisor: {bomb}: is larger than 8 MiB once decompressed; a case file holds one person's facts\n"
    broken = tmp_path / "broken.yaml.gz"
    broken.write_bytes(gzip.compress(FILES["p.yaml"].encode())[:20])
    r = run("advise", "--case", str(broken))
    assert r.exit_code == 2 and len(r.stderr.splitlines()) == 1 and f"{broken}: not valid gzip" in r.stderr
