"""A demo-sized hub with accounts for the web tests (built once per session, copied per test)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pyotp

PASSWORD = "correct horse battery"
# (user name, role, contributor)
ACCOUNTS = (("admin", "admin", None), ("rocontrib", "contributor", "ro-ngo"),
            ("uacontrib", "contributor", "ua-hotline"), ("rev", "reviewer", None),
            ("ana", "analyst", None), ("view", "viewer", None), ("uacase", "caseworker", "ua-hotline"))
DIRECTORY_SIZE = 300  # generated services imported into the demo hub (refer.testdata)
HELD_BACK = "ro-ngo"  # its export is left for the tests to upload


@dataclass
class DemoHub:
    template: Path          # hub file to copy
    scenario: Path          # the generated scenario (exports and profiles)
    secrets: dict[str, str]  # TOTP secrets of admin, reviewer, analyst, caseworker

    def copy(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "hub.duckdb"
        shutil.copy(self.template, target)
        return target

    def export(self, contributor: str) -> Path:
        return next(p for p in (self.scenario / contributor).iterdir()
                    if not p.name.endswith(".yaml"))

    def profile(self, contributor: str) -> str:
        """The profile's name as the upload page offers it (relative to the scenario)."""
        p = next(p for p in (self.scenario / contributor).iterdir() if p.name.endswith(".yaml"))
        return p.relative_to(self.scenario).as_posix()

    def totp(self, username: str) -> str:
        return pyotp.TOTP(self.secrets[username]).now()


def build_demo_hub(folder: Path, n_records: int = 600) -> DemoHub:
    from safelight.demo.generator import generate_scenario
    from safelight.ingest import ingest_file, load_profile
    from safelight.link.hub import link_hub
    from safelight.refer import vault
    from safelight.refer.directory import import_directory
    from safelight.refer.testdata import generate_directory
    from safelight.store import open_hub
    from safelight.web.auth import add_user
    from safelight.web.settings import WebSettings
    from safelight.web.state import HubState

    scenario = generate_scenario(folder / "scenario", n_records=n_records)
    hub_path = folder / "hub.duckdb"
    with open_hub(hub_path, create=True) as hub:
        for c in scenario.contributors:
            with hub.transaction():
                hub.ensure_contributor(c.name, c.country)
            if c.name != HELD_BACK:
                ingest_file(hub, c.path, contributor=c.name, profile=load_profile(c.profile_path),
                            actor="demo")
        link_hub(hub, actor="demo")
        directory_file = folder / "directory.json"
        directory_file.write_text(json.dumps(generate_directory(DIRECTORY_SIZE)), encoding="utf-8")
        import_directory(hub, directory_file, actor="demo", key=vault.new_key_file(folder / "operator.key"))
    state = HubState(hub_path, WebSettings())
    secrets = {}
    try:
        for name, role, contributor in ACCOUNTS:
            s = add_user(state, name, PASSWORD, role, contributor=contributor, actor="test")
            if s:
                secrets[name] = s
    finally:
        state.close()
    return DemoHub(hub_path, folder / "scenario", secrets)


def settings_for(demo: DemoHub, **over):
    from safelight.web.settings import WebSettings

    return WebSettings(**{"cookie_secure": False, "profiles_dir": str(demo.scenario), **over})


def api_login(client, demo: DemoHub, username: str) -> str:
    """Sign ``username`` in through the API; returns the CSRF token."""
    body = {"username": username, "password": PASSWORD}
    if username in demo.secrets:
        body["totp"] = demo.totp(username)
    r = client.post("/api/v1/session", json=body)
    assert r.status_code == 200, r.text
    return r.json()["csrf_token"]
