"""The web application's roles (no dependencies, so the CLI can list them without loading the app).

* ``admin`` — everything, including accounts, linkage runs and the audit chain;
* ``contributor`` — uploads and reads the records of one contributor (agency);
* ``analyst`` — dashboard, persons after linkage, disclosure-controlled releases;
* ``reviewer`` — the linkage review queue;
* ``viewer`` — dashboard and published releases;
* ``caseworker`` — the service directory and referrals of one contributor's cases.

Which role may call which route is :data:`safelight.web.deps.CAN`.
"""

from __future__ import annotations

ROLES = ("admin", "contributor", "analyst", "reviewer", "viewer", "caseworker")
#: Roles that must give a TOTP code at sign-in (they see record-level or sensitive data: a
#: contributor reads its quarantined rows, raw and with identifiers).
TOTP_ROLES = frozenset({"admin", "contributor", "analyst", "reviewer", "caseworker"})
#: Roles that act for one contributor (agency) and only ever see or change its cases.
BOUND_ROLES = frozenset({"contributor", "caseworker"})
