"""The summary for the clinic (:class:`advisor.core.summary.Summary`) as one standalone HTML file: the
/summary page's own template and stylesheet (which print it as that page prints), with no script and no link out."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from advisor.core.summary import Summary
from advisor.text import visible

WEB = Path(__file__).resolve().parent  # the pages' templates and stylesheet


def summary_html(s: Summary) -> str:
    """The summary as one standalone HTML file (no script, no link out; its style inline)."""

    def finalize(value: object) -> object:  # every printed string with its unsafe characters escaped, as on the pages
        return visible(value) if isinstance(value, str) and not hasattr(value, "__html__") else value

    env = Environment(loader=FileSystemLoader(str(WEB / "templates")), autoescape=select_autoescape(default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, finalize=finalize)
    css = (WEB / "static" / "web.css").read_text(encoding="utf-8")
    return env.get_template("summary_file.html").render(s=s, css=css)
