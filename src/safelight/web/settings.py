"""Typed settings of the web application; they save to (and load from) versioned JSON."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safelight.errors import UsageError

SETTINGS_VERSION = 1


@dataclass
class WebSettings:
    """How the hub's web application behaves.

    ``cookie_secure``: send the session cookie only over HTTPS (turn off only for loopback
    tests). ``idle_minutes``: a session unused this long is over; ``session_hours``: the longest
    a session lives. ``login_max_failures`` failed logins per user name or client address within
    ``login_window_minutes`` block further attempts until the window passes. ``profiles_dir``: a
    folder whose ``*.yaml`` mapping profiles are offered on the upload page (beside the built-in
    ones). ``releases_dir``: where releases are written (default: ``<hub>.releases`` beside the
    hub). ``report_threshold``: small-cell threshold of the dashboard. ``show_identifiers``:
    show clear identity fields in the review queue (``False`` in privacy-preserving mode: only
    the per-field comparison levels are shown). ``max_upload_mb``: largest accepted upload.
    """

    cookie_secure: bool = True
    idle_minutes: int = 30
    session_hours: int = 12
    login_max_failures: int = 5
    login_window_minutes: int = 15
    profiles_dir: str | None = None
    releases_dir: str | None = None
    report_threshold: int = 11
    show_identifiers: bool = True
    max_upload_mb: int = 200
    dashboard_cache_seconds: int = 600
    languages: tuple[str, ...] = field(default=("en", "uk"))

    def __post_init__(self) -> None:
        if self.idle_minutes < 1 or self.session_hours < 1:
            raise UsageError("web settings: idle_minutes and session_hours must be at least 1")
        if self.login_max_failures < 1 or self.login_window_minutes < 1:
            raise UsageError("web settings: login_max_failures and login_window_minutes must be "
                             "at least 1")
        if self.report_threshold < 1:
            raise UsageError("web settings: report_threshold must be at least 1")
        self.languages = tuple(self.languages)

    def as_dict(self) -> dict[str, Any]:
        return {"settings_version": SETTINGS_VERSION, **dataclasses.asdict(self)}

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.as_dict(), indent=2) + "\n", "utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> WebSettings:
        """Read settings written by :meth:`save`; unknown keys or versions are refused."""
        try:
            data = json.loads(Path(path).read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"{path}: cannot read web settings ({exc}) — give a JSON file "
                             "written by WebSettings.save") from None
        if data.pop("settings_version", None) != SETTINGS_VERSION:
            raise UsageError(f"{path}: settings_version is not {SETTINGS_VERSION}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise UsageError(f"{path}: unknown web setting(s) {', '.join(unknown)}; known: "
                             f"{', '.join(sorted(known))}")
        return cls(**data)
