"""Benchmark: 50 concurrent users browsing the dashboard of the demo hub on loopback.

Builds a demo hub (``safelight.demo`` generator, ingest, linkage), creates 50 viewer accounts,
starts the real application under uvicorn on a free loopback port in its own process, signs
every user in, warms the dashboard once, then lets 50 async clients (httpx) browse — dashboard
page, one indicator, a chart, the dashboard JSON — for ``--seconds``, each user pausing
``--think`` seconds on average between requests (0 makes it a saturation test). Reports
requests, errors, p50/p95/p99 latency and throughput, overall and per page, as JSON (``--out``)
and a table. Target: p95 < 300 ms, no
errors. The machine is shared: timings are noisy; compare runs on the same machine.

    /tmp/v/bin/python bench/web/run.py --records 20000 --users 50 --seconds 30 --think 1
    /tmp/v/bin/python bench/web/run.py --records 20000 --users 50 --seconds 30 --think 0
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.util import find_spec
from pathlib import Path

import httpx

PASSWORD = "benchmark password 1"
SERVER = """
import sys, uvicorn
from safelight.web import WebSettings, create_app
app = create_app(sys.argv[1], WebSettings(cookie_secure=False))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
"""
PAGES = ("/dashboard", "/dashboard?show=persons_by_sex_age", "/api/v1/dashboard")


def build_hub(folder: Path, n_records: int, n_users: int) -> Path:
    from safelight.demo.generator import generate_scenario
    from safelight.ingest import ingest_file, load_profile
    from safelight.link.hub import link_hub
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
            ingest_file(hub, c.path, contributor=c.name, profile=load_profile(c.profile_path),
                        actor="bench")
        link_hub(hub, actor="bench")
    state = HubState(hub_path, WebSettings())
    try:
        for i in range(n_users):
            add_user(state, f"viewer{i:02d}", PASSWORD, "viewer", actor="bench")
    finally:
        state.close()
    return hub_path


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))]


async def sign_in(c: httpx.AsyncClient, i: int, gate: asyncio.Semaphore) -> None:
    async with gate:  # argon2 is deliberately costly: sign in a few at a time, before timing
        r = await c.post("/api/v1/session", json={"username": f"viewer{i:02d}",
                                                  "password": PASSWORD})
        r.raise_for_status()


async def user_loop(c: httpx.AsyncClient, i: int, until: float, samples: list, errors: list,
                    chart: str | None, think: float) -> None:
    rng = random.Random(i)
    pages = PAGES + ((f"/dashboard/charts/{chart}.svg",) if chart else ())
    k = i
    while time.perf_counter() < until:
        path = pages[k % len(pages)]
        k += 1
        t0 = time.perf_counter()
        try:
            resp = await c.get(path)
            ok = resp.status_code == 200
        except httpx.HTTPError as exc:
            ok, resp = False, exc
        dt = time.perf_counter() - t0
        samples.append((path.split("?")[0] if "charts" not in path else "/dashboard/charts/*",
                        dt))
        if not ok:
            errors.append((path, getattr(resp, "status_code", str(resp))))
        if think:  # a person reads the page before the next click
            await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))


async def warm(base: str) -> str | None:
    """Sign in once, load the dashboard and one chart; returns that chart's indicator id."""
    import re

    async with httpx.AsyncClient(base_url=base, timeout=120) as c:
        (await c.post("/api/v1/session", json={"username": "viewer00",
                                               "password": PASSWORD})).raise_for_status()
        page = (await c.get("/dashboard")).text
        m = re.search(r"/dashboard/charts/([\w-]+)\.svg", page)
        if m:
            (await c.get(m.group(0))).raise_for_status()
        return m.group(1) if m else None


async def browse(base: str, users: int, seconds: float, chart: str | None, think: float):
    samples: list[tuple[str, float]] = []
    errors: list = []
    clients = [httpx.AsyncClient(base_url=base, timeout=30) for _ in range(users)]
    try:
        gate = asyncio.Semaphore(2)
        await asyncio.gather(*(sign_in(c, i, gate) for i, c in enumerate(clients)))
        until = time.perf_counter() + seconds
        t0 = time.perf_counter()
        await asyncio.gather(*(user_loop(c, i, until, samples, errors, chart, think)
                               for i, c in enumerate(clients)))
        wall = time.perf_counter() - t0
    finally:
        for c in clients:
            await c.aclose()
    return samples, errors, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=20_000)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--think", type=float, default=1.0,
                    help="mean seconds a user reads a page before the next request (0: none, "
                         "a saturation test)")
    ap.add_argument("--out", type=Path, default=Path("bench/web/results.json"))
    args = ap.parse_args()

    import logging

    logging.basicConfig(level=logging.WARNING)
    work = Path(tempfile.mkdtemp(prefix="safelight-bench-web-"))
    try:
        t = time.perf_counter()
        hub_path = build_hub(work, args.records, args.users)
        build_s = time.perf_counter() - t
        port = _free_port()
        # the server is its own process (as in production), so the load generator does not
        # share its interpreter
        server = subprocess.Popen([sys.executable, "-c", SERVER, str(hub_path), str(port)])
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/login", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.2)
        t = time.perf_counter()
        chart = asyncio.run(warm(base))  # as the first visitor would: computes the report
        warm_s = time.perf_counter() - t
        load_before = os.getloadavg()
        cpu0 = _cpu_seconds(server.pid)
        samples, errors, wall = asyncio.run(browse(base, args.users, args.seconds, chart,
                                                   args.think))
        server_cpu = _cpu_seconds(server.pid) - cpu0
        load_after = os.getloadavg()
        server.terminate()
        server.wait(10)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    lat = [d for _, d in samples]
    per_page = {}
    for page in sorted({p for p, _ in samples}):
        xs = [d for p, d in samples if p == page]
        per_page[page] = {"requests": len(xs), "p50_ms": round(1000 * pct(xs, 50), 1),
                          "p95_ms": round(1000 * pct(xs, 95), 1)}
    result = {
        "users": args.users, "records": args.records, "think_s": args.think,
        "seconds": round(wall, 1),
        "requests": len(lat), "errors": len(errors), "error_examples": errors[:5],
        "throughput_rps": round(len(lat) / wall, 1),
        "p50_ms": round(1000 * statistics.median(lat), 1) if lat else None,
        "p95_ms": round(1000 * pct(lat, 95), 1), "p99_ms": round(1000 * pct(lat, 99), 1),
        "target_p95_ms": 300, "meets_target": bool(lat) and pct(lat, 95) < 0.3 and not errors,
        "per_page": per_page, "hub_build_s": round(build_s, 1),
        "dashboard_warm_s": round(warm_s, 2),
        "server_cpu_ms_per_request": round(1000 * server_cpu / max(len(lat), 1), 2),
        "load_average_before_after": [round(load_before[0], 1), round(load_after[0], 1)],
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "uvicorn": {"http": "httptools" if find_spec("httptools") else "h11",
                    "loop": "uvloop" if find_spec("uvloop") else "asyncio"},
        "command": (f"/tmp/v/bin/python bench/web/run.py --records {args.records} "
                    f"--users {args.users} --seconds {args.seconds:g} --think {args.think:g}"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    print(f"{result['users']} users (think {args.think:g} s), {result['requests']} requests in {result['seconds']} s "
          f"({result['throughput_rps']} req/s), errors {result['errors']}")
    print(f"latency p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, p99 "
          f"{result['p99_ms']} ms (target p95 < 300 ms: "
          f"{'met' if result['meets_target'] else 'NOT met'})")
    print(f"server CPU {result['server_cpu_ms_per_request']} ms per request; load average "
          f"{result['load_average_before_after'][0]} -> {result['load_average_before_after'][1]}"
          f" on {os.cpu_count()} CPUs (shared machine: latency includes waiting for a CPU)")
    for page, s in per_page.items():
        print(f"  {page:<28} {s['requests']:>6}  p50 {s['p50_ms']:>7} ms  p95 {s['p95_ms']:>7} ms")


if __name__ == "__main__":
    main()
