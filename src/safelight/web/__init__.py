"""safelight.web — the hub as a multi-user web application and HTTP API.

In: one hub database (opened by this one process; DuckDB has one writer) and
:class:`WebSettings`. Out: server-rendered pages (English and Ukrainian) and a JSON API under
``/api/v1`` with an OpenAPI description at ``/openapi.json``.

Guarantees:

* every page and API endpoint but sign-in needs a live session of a role allowed to use it;
  a contributor account sees only its own contributor's contributions, records and quarantine;
* passwords are argon2id hashes; admin, analyst and reviewer accounts need a TOTP code;
  sessions are random ids in an HttpOnly, SameSite=Strict (and, unless turned off for
  loopback tests, Secure) cookie, end after an idle timeout, and every state-changing request
  needs the session's CSRF token; failed logins are rate-limited;
* every sign-in (and failure), upload, read of record-level data, linkage decision, release and
  export is appended to the hub's hash-chained audit log;
* the web layer only calls stage APIs (ingest, link, release, report); no page serves an
  external asset (no CDN) or runs script.
"""

from safelight.web.app import create_app, run
from safelight.web.settings import WebSettings

__all__ = ["WebSettings", "create_app", "run"]
