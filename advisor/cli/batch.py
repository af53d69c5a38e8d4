"""``ms-advisor batch``: the command's options, checked (``advisor.batch.options``) before the run
(``advisor.batch.run_to_file``), and the run's summary and exit code."""

from __future__ import annotations

import os
import sys

import click

from advisor import stopping
from advisor.cli.common import Command, Number, UserError, Where, get_advisor, rules_dir_option


@click.command(cls=Command, epilog="""
\b
Examples:
  ms-advisor batch cases/ --out results.jsonl
  ms-advisor batch export.csv.gz --out results.csv --format csv --map patient_id=id --extra keep
  ms-advisor batch export.txt --input-format csv --delimiter ';' --encoding cp1252 --out results.jsonl
  cat cases.ndjson | ms-advisor batch - --out - --summary-json summary.json > results.jsonl
""")
@click.argument("paths", nargs=-1, required=True)
@click.option("--out", "out_path", required=True, metavar="FILE", help="Where to write the records ('-' for stdout).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "json"]), default="jsonl", show_default=True)
@click.option("--input-format", type=click.Choice(["jsonl", "csv", "json", "yaml"]),
              help="Format of stdin and of files with an unknown suffix (default for stdin: jsonl).")
@click.option("--delimiter", metavar="CHAR", help="CSV delimiter (default: sniffed among comma, semicolon and tab; 'tab' for a tab); "
              "also of CSV output unless --out-delimiter is given.")
@click.option("--out-delimiter", metavar="CHAR", help="Delimiter of CSV output (default: --delimiter if given, else comma; 'tab' for a tab).")
@click.option("--bom", is_flag=True, help="Start CSV output with a UTF-8 byte-order mark (Excel then reads it as UTF-8).")
@click.option("--encoding", default="utf-8", show_default=True, help="Encoding of CSV, JSON and YAML inputs (a UTF-8 byte-order mark is read).")
@click.option("--max-decompressed", type=Number(whole=False, low=0.001, high=1024), default=4, show_default=True, metavar="GIB",
              help="Bound of each gzipped input once decompressed, in GiB: past it, an error record says so and the rest of "
                   "that input is not read (a small gzip can hold gigabytes of newlines).")
@click.option("--extra", type=click.Choice(["error", "ignore", "keep"]), default="error", show_default=True,
              help="Unknown fields or columns: name them in the case's error, drop them, or keep them in the record under 'input'.")
@click.option("--map", "mapping", multiple=True, metavar="SOURCE=FIELD",
              help="Rename an input field or column (repeatable), e.g. --map patient_id=id.")
@click.option("--echo-facts", is_flag=True, help="Put the validated facts in each record.")
@click.option("--summary-json", metavar="FILE", help="Also write the summary as JSON to FILE.")
@click.option("--duplicate-check-limit", type=Number(whole=True, low=0), default=None, metavar="N",
              help="Distinct ids remembered to flag repeated ids (about 70 bytes each; default 5,000,000; 0: no check).")
@click.option("--workers", type=Number(whole=True, low=1, high=64), help="Worker processes, 1 to 64 (default: the number of cores).")
@click.option("--full", is_flag=True, help="Put the whole Recommendation in each record.")
@rules_dir_option
def batch(paths: tuple[str, ...], out_path: str, fmt: str, input_format: str | None, delimiter: str | None, encoding: str,
          out_delimiter: str | None, bom: bool,
          max_decompressed: float, extra: str, mapping: tuple[str, ...], echo_facts: bool,
          summary_json: str | None, duplicate_check_limit: int | None,
          workers: int | None, full: bool, rules_dir: str | None) -> None:
    """Evaluate every case in PATHS (.jsonl/.ndjson, .json, .yaml, .csv files, each also gzipped, directories,
    '-' for stdin) and write one record per case, in input order. Exit 0 if every case is valid and every
    expectation holds, 1 otherwise, 2 for a usage error or a run that could not finish."""
    owned = stopping.holding()  # the `ms-advisor batch` process itself (not a test runner's)
    try:
        _batch(paths, out_path, fmt, input_format, delimiter, encoding, out_delimiter, bom, max_decompressed, extra, mapping,
               echo_facts, summary_json, duplicate_check_limit, workers, full, rules_dir)
    finally:
        if owned:
            stopping.quiet()  # the run is over: a signal now cannot turn exit 0, 1 or 2 into "killed"


def _batch(paths: tuple[str, ...], out_path: str, fmt: str, input_format: str | None, delimiter: str | None, encoding: str,
           out_delimiter: str | None, bom: bool,
           max_decompressed: float, extra: str, mapping: tuple[str, ...], echo_facts: bool,
           summary_json: str | None, duplicate_check_limit: int | None,
           workers: int | None, full: bool, rules_dir: str | None) -> None:
    from advisor.batch import DUPLICATE_CHECK_LIMIT, CaseOptions, Format, ReadOptions, run_to_file
    from advisor.batch import options as given

    for p in paths:
        if p != "-" and not os.path.lexists(p):
            raise UserError(f"{p}: no such file or directory")
    with Where("--delimiter"):
        delimiter = given.delimiter(delimiter)
    if fmt != "csv" and (bom or out_delimiter is not None):
        raise UserError(f"{'--bom' if bom else '--out-delimiter'}: only with --format csv (these records are {fmt})")
    with Where("--out-delimiter"):
        out_delimiter = given.delimiter(out_delimiter) or delimiter or ","
    with Where("--encoding"):
        given.encoding(encoding)
    with Where("--map"):
        pairs = given.map_pairs(mapping)
    advisor = get_advisor(rules_dir)  # loads and validates the KB before any work starts
    options = CaseOptions(extra=extra, mapping=tuple(pairs), echo_facts=echo_facts, full=full)
    read = ReadOptions(input_format=input_format, delimiter=delimiter, encoding=encoding,
                       max_decompressed_bytes=int(max_decompressed * 2**30))
    output = Format(fmt, delimiter=out_delimiter, bom=bom, fact_columns=echo_facts,
                    input_columns=given.kept_columns(paths, read, options)) if fmt == "csv" else fmt
    summary = run_to_file(list(paths), out_path, advisor=advisor, fmt=output, workers=workers or os.cpu_count() or 1,
                          options=options, read=read, summary_json=summary_json,
                          duplicate_check_limit=DUPLICATE_CHECK_LIMIT if duplicate_check_limit is None else duplicate_check_limit)
    click.echo(summary.text(advisor.kb), err=True)
    sys.exit(0 if summary.ok else 1)
