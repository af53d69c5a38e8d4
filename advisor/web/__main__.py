"""`python -m advisor.web [--host 127.0.0.1] [--port 8000] [--rules-dir DIR]`: the pages on their own."""

from __future__ import annotations

import argparse


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m advisor.web", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--rules-dir", default=None)
    args = parser.parse_args()
    import uvicorn

    from advisor import Advisor, KnowledgeBaseError, default_advisor

    from .pages import create_app

    try:
        advisor = Advisor(args.rules_dir) if args.rules_dir else default_advisor()
    except KnowledgeBaseError as e:
        parser.exit(2, f"--rules-dir: the knowledge base is broken:\n{e}\n")
    app = create_app(advisor)
    # The service's start-up step, HTTP protocol and limits (request heads bounded, slow clients cut
    # off, a cap on connections): the pages on their own face the same clients as the service.
    from advisor.serve.app import freeze_start_up
    from advisor.serve.protocol import server_options

    freeze_start_up()

    uvicorn.run(app, host=args.host, port=args.port, log_level="info", **server_options())


if __name__ == "__main__":
    main()
