"""The help finder over HTTP: a FastAPI router the web application mounts (public, no login).

Contract: :func:`help_finder_router` serves the finder's files (``/``, ``/sw.js``,
``/hotlines.json``, ``/data/{ISO3}.json``) and ``/services.json?country=ISO3`` (the same public
cards), built once from the hub's public documents by :func:`safelight.refer.finder.render_bundle`.
Every response carries no cookie, ``Referrer-Policy: no-referrer``, ``X-Content-Type-Options:
nosniff`` and, for the page, its Content-Security-Policy. Nothing here reads a sealed location.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Response

from safelight.refer import finder
from safelight.store import open_hub

_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".json": "application/json; charset=utf-8"}


def _bundle_from_hub(hub_path: Path, exit_url: str) -> dict[str, bytes]:
    with open_hub(hub_path, read_only=True) as hub:
        return finder.render_bundle(finder.docs_by_country(hub), exit_url=exit_url)


def help_finder_router(hub_path: str | Path | None = None, *, exit_url: str = finder.DEFAULT_EXIT_URL,
                       bundle: Callable[[], dict[str, bytes]] | None = None,
                       refresh_seconds: float = 300.0) -> APIRouter:
    """A router serving the public help finder of the hub at ``hub_path`` (or of ``bundle()``).

    The files are built on the first request and rebuilt when older than ``refresh_seconds``, so a
    directory import shows within minutes. A process that already holds the hub open for writing
    (DuckDB allows one configuration per file) passes ``bundle`` built from its own connection.
    """
    if bundle is None:
        if hub_path is None:
            raise ValueError("give hub_path or bundle")
        path = Path(hub_path)

        def bundle() -> dict[str, bytes]:
            return _bundle_from_hub(path, exit_url)

    state: dict[str, Any] = {}

    def files() -> dict[str, bytes]:
        if "files" not in state or time.monotonic() - state["built"] > refresh_seconds:
            state["files"], state["built"] = bundle(), time.monotonic()
        return state["files"]

    def send(name: str) -> Response:
        content = files().get(name)
        if content is None:
            raise HTTPException(404, "not found")
        headers = {"Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
                   "Cache-Control": "no-cache"}
        if name == "index.html":
            headers["Content-Security-Policy"] = finder.content_security_policy(content)
        if name == "sw.js":
            headers["Service-Worker-Allowed"] = "./"
        return Response(content, media_type=_TYPES[Path(name).suffix], headers=headers)

    router = APIRouter()

    @router.get("/", include_in_schema=False)
    def page() -> Response:
        return send("index.html")

    @router.get("/index.html", include_in_schema=False)
    def page_file() -> Response:
        return send("index.html")

    @router.get("/sw.js", include_in_schema=False)
    def service_worker() -> Response:
        return send("sw.js")

    @router.get("/hotlines.json")
    def hotlines() -> Response:
        return send("hotlines.json")

    @router.get("/data/{country}.json")
    def country_cards(country: str) -> Response:
        if not (len(country) == 3 and country.isalpha() and country.isupper()):
            raise HTTPException(404, "not found")
        return send(f"data/{country}.json")

    @router.get("/services.json")
    def services(country: str | None = None) -> Response:
        if country is not None:
            return send(f"data/{country}.json") if f"data/{country}.json" in files() else \
                Response(b"[]", media_type=_TYPES[".json"], headers={"Referrer-Policy": "no-referrer"})
        merged = {n[5:8]: json.loads(c) for n, c in files().items() if n.startswith("data/")}
        return Response(json.dumps(merged, ensure_ascii=False).encode(), media_type=_TYPES[".json"],
                        headers={"Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"})

    return router
