"""`python -m advisor.web [OPTIONS]` is `ms-advisor serve [OPTIONS]`: the pages served with the rest of
the service, on the same options (--port, --host, --rules-dir, --db, the timeouts, ...)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    from advisor.cli import main as cli

    print("python -m advisor.web is `ms-advisor serve`: the pages with the JSON API and CDS Hooks", file=sys.stderr)
    cli(["serve", *(sys.argv[1:] if argv is None else argv)], prog_name="ms-advisor")


if __name__ == "__main__":
    main()
