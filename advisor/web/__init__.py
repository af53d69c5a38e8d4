"""The web pages for people: a form for the facts, the advice, the article, schedules, drugs and rules.

    from fastapi import FastAPI
    from advisor.web import add_pages
    app = FastAPI()
    add_pages(app, advisor)   # or advisor.web.create_app(advisor)

Server-rendered (Jinja2, shipped in this package), usable without JavaScript, no external resources.
"""

from advisor.web.form import advice_path
from advisor.web.pages import add_pages, create_app, router
from advisor.web.security import CSP, SECURITY_HEADERS, SecureRoute, add_security_headers, security_headers_middleware

__all__ = ["advice_path", "CSP", "SECURITY_HEADERS", "SecureRoute", "add_pages", "add_security_headers", "create_app", "router",
           "security_headers_middleware"]
