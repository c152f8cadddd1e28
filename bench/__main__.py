"""Benchmark suite: `python -m bench --rows N` (`make bench`, `make bench ROWS=10000000`).

Creates two scratch PostgreSQL databases (a small one of --small-rows and a full one of --rows synthetic
failures over 90 days and 20 tenants), migrates and fills them with bench.fill, and prints JSON lines
{"name", "value", "unit"} (comparisons also carry "baseline" and "ratio" = value / baseline):
  page.<page>.<scope>.vs_naive  data load of the page at full size against the naive pandas way
  page.<page>.<scope>.vs_small  the same load at full size against its time at --small-rows
  api.<endpoint>.p50 / .p95     latency against a running `failcat api`
  ingest_* / matcher_*          bench.ingest on PostgreSQL and SQLite (and bench.matcher when present)
Timings are medians of --reps runs (a page's full and small loads taken in turn for vs_small; the full load's
runs one after the other, as the naive load's, for vs_naive); ingest and COPY are medians of three runs each,
taken in turn. The scratch databases are dropped at the end, also on failure.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import io
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from bench import api as api_bench
from bench import pages
from bench.fill import fill
from core.db import create_database, drop_database, make_engine
from loaders.migrate import migrate

ADMIN_URL = os.environ.get("FAILCAT_BENCH_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
TARGET_SPEEDUP = 20.0
TARGET_FLAT = 1.5
NAIVE_BUDGET_S = 3.0  # naive loads cheaper than this are repeated (up to 3x naive_reps) for a steadier median


def emit(name: str, value: float, unit: str, **extra: Any) -> None:
    """One JSON line on stdout."""
    rounded = {k: round(v, 4) if isinstance(v, float) else v for k, v in extra.items()}
    print(json.dumps({"name": name, "value": round(float(value), 4), "unit": unit, **rounded}), flush=True)


def cpu_reference_ms(reps: int = 5) -> float:
    """Median milliseconds of a fixed pure-Python loop: how fast this machine runs Python today, so that figures
    of runs on different days (machines of one kind differ by 2-3x) can be compared."""
    def loop() -> int:
        total = 0
        for i in range(2_000_000):
            total += i * i % 7
        return total

    times = []
    for _ in range(reps):
        started = time.perf_counter()
        loop()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def log(message: str) -> None:
    """Progress on stderr (stdout carries only JSON lines)."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def scratch_databases(count: int) -> Iterator[list[tuple[str, Engine]]]:
    """`count` fresh, migrated databases as (url, engine); dropped afterwards."""
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    made: list[tuple[str, Engine]] = []
    names: list[str] = []
    try:
        for _ in range(count):
            name = f"failcat_bench_{uuid.uuid4().hex[:8]}"
            create_database(admin, name)
            names.append(name)
            url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
            engine = make_engine(url)
            migrate(engine)
            made.append((url, engine))
        yield made
    finally:
        for _, engine in made:
            engine.dispose()
        for name in names:
            drop_database(admin, name)
        admin.dispose()


@contextlib.contextmanager
def databases(small_url: str | None, full_url: str | None) -> Iterator[list[tuple[str, Engine]]]:
    """The small and full databases: the given URLs (kept), or scratch ones (dropped afterwards)."""
    if small_url and full_url:
        engines = [(small_url, make_engine(small_url)), (full_url, make_engine(full_url))]
        try:
            yield engines
        finally:
            for _, engine in engines:
                engine.dispose()
        return
    if small_url or full_url:
        raise SystemExit("give both --small-url and --full-url, or neither")
    with scratch_databases(2) as made:
        yield made


def timed_within(func: Callable[[], Any], min_reps: int, max_reps: int, budget_s: float) -> float:
    """Median milliseconds of at least `min_reps` runs, more (up to `max_reps`) while they fit in `budget_s`
    seconds: a load of a tenth of a second drifts by tens of percent run to run, so one that cheap gets more
    samples; one of tens of seconds gets `min_reps`."""
    runs: list[float] = []
    started = time.perf_counter()
    while len(runs) < min_reps or (len(runs) < max_reps and time.perf_counter() - started < budget_s):
        began = time.perf_counter()
        func()
        runs.append((time.perf_counter() - began) * 1000)
    return statistics.median(runs)


def timed_side_by_side(funcs: list[Callable[[], Any]], reps: int) -> list[float]:
    """Median milliseconds of each function, run in turn `reps` times after one warm-up round, so that every one
    of them meets the same machine conditions (a shared 2-core VM drifts by tens of percent within seconds)."""
    for func in funcs:
        func()
    runs: list[list[float]] = [[] for _ in funcs]
    for _ in range(reps):
        for func, out in zip(funcs, runs, strict=True):
            started = time.perf_counter()
            func()
            out.append((time.perf_counter() - started) * 1000)
    return [statistics.median(r) for r in runs]


def busiest_tenant(engine: Engine) -> str:
    """The tenant with the most failures (from the rollups)."""
    with engine.connect() as conn:
        return str(conn.execute(text(
            "SELECT tenant_id FROM failure_rollups GROUP BY tenant_id ORDER BY sum(failures) DESC LIMIT 1"
        )).scalar_one())


def page_load(engine: Engine, page: Callable[..., Any], tenant: str | None,
              extra: tuple[Any, ...]) -> Callable[[], Any]:
    """A zero-argument call of one page's load on a pooled connection (as the dashboard does)."""
    def run() -> Any:
        with engine.connect() as conn:
            return page(conn, tenant, pages.utc_now(), *extra)
    return run


def bench_pages(small: Engine, full: Engine, *, reps: int, naive_reps: int, rows: int, small_rows: int,
                engine_name: str = "postgresql") -> None:
    """Every page, all tenants and the busiest tenant: full vs naive, full vs small (names of PostgreSQL figures
    as they always were; SQLite's carry `.sqlite` and every line its "engine")."""
    suffix = "" if engine_name == "postgresql" else f".{engine_name}"
    busy = busiest_tenant(full)
    scopes: dict[str, str | None] = {"all": None, "busy": busy}
    small_busy = busiest_tenant(small)
    for name, (fast, naive) in pages.PAGES.items():
        for scope, tenant in scopes.items():
            small_tenant = None if tenant is None else small_busy
            extra_full: tuple[Any, ...] = ()
            extra_small: tuple[Any, ...] = ()
            if name == "failure_detail":
                with full.connect() as conn:
                    extra_full = (pages.sample_failure(conn, tenant or busy),)
                with small.connect() as conn:
                    extra_small = (pages.sample_failure(conn, small_tenant or small_busy),)
            full_ms, small_ms = timed_side_by_side(
                [page_load(full, fast, tenant, extra_full), page_load(small, fast, small_tenant, extra_small)], reps)
            # Against the naive way, both loads are timed alike: runs one after the other on the full database
            # (the side-by-side runs above switch databases every run, which only the full/small comparison
            # needs). The naive loads run for a tenth of a second to minutes at 1M rows: no warm-up run (the
            # fast load of the same page just ran, so the cache is as warm as it gets), median of naive_reps or
            # more.
            if naive_reps:
                alone_ms = timed_side_by_side([page_load(full, fast, tenant, extra_full)], reps)[0]
                naive_ms = timed_within(page_load(full, naive, tenant, extra_full), naive_reps, 3 * naive_reps,
                                        NAIVE_BUDGET_S)
                emit(f"page.{name}.{scope}.vs_naive{suffix}", alone_ms, "ms", baseline=naive_ms,
                     ratio=alone_ms / naive_ms, speedup=naive_ms / alone_ms, target=f"speedup >= {TARGET_SPEEDUP:g}",
                     rows=rows, tenant=tenant or "all", engine=engine_name)
            emit(f"page.{name}.{scope}.vs_small{suffix}", full_ms, "ms", baseline=small_ms, ratio=full_ms / small_ms,
                 target=f"ratio <= {TARGET_FLAT:g}", rows=rows, baseline_rows=small_rows, tenant=tenant or "all",
                 engine=engine_name)


def bench_browser(url: str, engine: Engine, *, engine_name: str, rows: int, reps: int) -> None:
    """Every page in Chromium: cold (median of the cold passes) and warm, as a link and from the sidebar, with
    the page's data load (all tenants, as an all-tenant admin opens it) and its share of the link time."""
    from bench import browser

    with engine.connect() as conn:
        failure_id = pages.sample_failure(conn, busiest_tenant(engine))
    figures = browser.measure(url, engine, failure_id=failure_id, reps=reps)
    for name, fig in figures.items():
        fast = pages.PAGES.get(name, (None, None))[0]
        data_ms = None
        if fast is not None:
            extra = (failure_id,) if name == "failure_detail" else ()
            data_ms = timed_side_by_side([page_load(engine, fast, None, extra)], 5)[0]
        ways = (("link", fig.link_cold, fig.link_warm), ("sidebar", fig.sidebar_cold, fig.sidebar_warm))
        for way, cold, warm in ways:
            if not cold:
                continue
            value = browser.median(cold) or 0.0
            target = 800 if way == "link" else 400
            emit(f"browser.{name}.{engine_name}.{way}_ms", value, "ms", warm_ms=browser.median(warm), rows=rows,
                 engine=engine_name, data_load_ms=data_ms, data_share=(data_ms / value) if data_ms and value else None,
                 target=f"<= {target} ms")


def top_code(engine: Engine, tenant: str) -> str:
    """The tenant's most frequent error code (from the rollups)."""
    with engine.connect() as conn:
        return str(conn.execute(text(
            "SELECT error_code FROM failure_rollups WHERE tenant_id = :tenant GROUP BY error_code "
            "ORDER BY sum(failures) DESC, error_code LIMIT 1"), {"tenant": tenant}).scalar_one())


def bench_datasette(path: Path, engine: Engine, *, rows: int, rounds: int) -> None:
    """Explore's three views beside Datasette's faceted table page of the same SQLite file, opened as links."""
    from bench import browser, datasette

    tenant = busiest_tenant(engine)
    figures = datasette.measure(path, engine, tenant=tenant, code=top_code(engine, tenant), rounds=rounds)
    for view, (ours, theirs) in figures.items():
        value, baseline = browser.median(ours) or 0.0, browser.median(theirs) or 0.0
        emit(f"browser.explore.{view}.vs_datasette", value, "ms", baseline=baseline,
             ratio=value / baseline if baseline else None, engine="sqlite", rows=rows, rounds=rounds,
             target="ratio < 1")


def bench_charts(quick: bool) -> None:
    """bench.charts: a page of three bar charts with plotly, with Vega-Lite and with no chart, opened as links."""
    from bench import charts

    figures = charts.measure(reps=1 if quick else 5)
    for library, value in figures.items():
        extra = {} if library == "none" else {"baseline": figures["none"], "ratio": value / figures["none"]}
        emit(f"browser.chart_library.{library}.link_ms", value, "ms", **extra)


def bench_api(engine: Engine, url: str, requests: int) -> None:
    """API p50/p95 per endpoint."""
    samples = api_bench.measure(engine, url, requests=requests, busy_tenant=busiest_tenant(engine))
    targets = {"stats": 50, "list_filtered": 50, "list_filtered_7d": 50, "unrecovered": 50, "groups_list": 50,
               "recovery_patch": 30}
    for name, values in samples.items():
        p50, p95 = api_bench.summarise(values)
        emit(f"api.{name}.p50", p50, "ms", requests=len(values))
        emit(f"api.{name}.p95", p95, "ms", requests=len(values), target=f"< {targets[name]} ms")


def bench_ingest(events: int) -> None:
    """bench.ingest on each engine: the pipeline against COPY (PostgreSQL) and executemany (SQLite) of the same rows,
    each in its own scratch database."""
    from bench import ingest

    for engine_name in ("postgresql", "sqlite"):
        figures = ingest.run(events, 42, engine_name=engine_name)
        ratio = figures["pipeline"] / figures["copy"]
        emit("ingest_pipeline_events_per_s", figures["pipeline"], "events/s", engine=engine_name,
             baseline=figures["copy"], ratio=ratio, events=events, rounds=figures["rounds"],
             target=f"ratio >= {ingest.TARGET_RATIO:.3f}")
        emit(ingest.BASELINE_FIGURE[engine_name], figures["copy"], "events/s", engine=engine_name, events=events,
             rounds=figures["rounds"])


def bench_matcher(quick: bool) -> None:
    """bench.matcher when another developer's module exists: its JSON lines are passed through."""
    if importlib.util.find_spec("bench.matcher") is None:
        log("bench.matcher not present: no matcher figure")
        return
    module = importlib.import_module("bench.matcher")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        module.main(["--quick"] if quick and _accepts_quick(module) else [])
    for line in out.getvalue().splitlines():
        if line.strip().startswith("{"):
            print(line, flush=True)


def _accepts_quick(module: Any) -> bool:
    try:
        import inspect

        return "--quick" in inspect.getsource(module)
    except (OSError, TypeError):
        return False


def bench_sqlite(small: Engine, full: Engine, parts: set[str], args: argparse.Namespace, *, reps: int) -> None:
    """The pages' data loads and the browser figures on SQLite copies of the same two databases."""
    from bench.sqlite_copy import copy_to_sqlite

    with tempfile.TemporaryDirectory(prefix="failcat-bench-sqlite-") as tmp:
        copies = []
        for engine, n, name in ((small, args.small_rows, "small"), (full, args.rows, "full")):
            log(f"copying {n:,} rows to SQLite")
            started = time.perf_counter()
            copies.append(copy_to_sqlite(engine, Path(tmp) / f"{name}.db"))
            emit("sqlite_copy_rows_per_s", n / (time.perf_counter() - started), "rows/s", rows=n)
        try:
            if "pages" in parts:
                bench_pages(*copies, reps=reps, naive_reps=0, rows=args.rows, small_rows=args.small_rows,
                            engine_name="sqlite")
            if "browser" in parts:
                for copy, n in zip(copies, (args.small_rows, args.rows), strict=True):
                    log(f"browser, SQLite, {n:,} rows")
                    bench_browser(str(copy.url), copy, engine_name="sqlite", rows=n, reps=1 if args.quick else 3)
            if "datasette" in parts:
                log(f"Explore beside Datasette, SQLite, {args.rows:,} rows")
                bench_datasette(Path(tmp) / "full.db", copies[1], rows=args.rows, rounds=1 if args.quick else 3)
        finally:
            for copy in copies:
                copy.dispose()


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run every part, print JSON lines."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="failures in the full database")
    parser.add_argument("--small-rows", type=int, default=10_000, help="failures in the small database")
    parser.add_argument("--quick", action="store_true", help="50k rows, few repetitions (smoke test)")
    parser.add_argument("--reps", type=int, default=None, help="timed runs per page load (median)")
    parser.add_argument("--api-requests", type=int, default=None, help="requests per endpoint")
    parser.add_argument("--ingest-events", type=int, default=None)
    parser.add_argument("--only", default="pages,api,browser,datasette,charts,ingest,matcher",
                        help="comma-separated parts to run (datasette runs with --sqlite only)")
    parser.add_argument("--sqlite", action="store_true",
                        help="also copy both databases into SQLite files and measure pages and browser there, "
                             "and Explore beside Datasette on the full copy")
    parser.add_argument("--full-url", help="use this already filled database (migrated to head) as the full one")
    parser.add_argument("--small-url", help="use this already filled database as the small one")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive pandas loads (they take minutes)")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows = min(args.rows, 50_000)
    reps = args.reps or (2 if args.quick else 15)
    naive_reps = max(1, reps // 2) if args.quick else 3
    requests = args.api_requests or (20 if args.quick else 300)
    events = args.ingest_events or (2_000 if args.quick else 50_000)
    parts = set(args.only.split(","))
    emit("cpu_reference_ms", cpu_reference_ms(), "ms", loop="2M iterations of total += i * i % 7")

    if parts & {"pages", "api", "browser", "datasette"}:
        with databases(args.small_url, args.full_url) as ((small_url, small), (full_url, full)):
            for url, engine, n in ((args.small_url, small, args.small_rows), (args.full_url, full, args.rows)):
                if url:  # given: already filled; bring it to the current schema (new rollup levels fill themselves)
                    migrate(engine)
                    continue
                log(f"filling {n:,} rows")
                seconds = fill(engine, rows=n)
                emit("fill_rows_per_s", n / seconds, "rows/s", rows=n, seconds=seconds)
            if "pages" in parts:
                # Pages read through autocommit engines, as the dashboard's loaders do (dashboard.db.connect).
                readers = [make_engine(u, autocommit=True) for u in (small_url, full_url)]
                try:
                    bench_pages(*readers, reps=reps, naive_reps=0 if args.no_naive else naive_reps,
                                rows=args.rows, small_rows=args.small_rows)
                finally:
                    for reader in readers:
                        reader.dispose()
            if "api" in parts:
                log("API latency")
                bench_api(full, full_url, requests)
            if "browser" in parts:
                sized = [(small_url, small, args.small_rows), (full_url, full, args.rows)]
                for url, engine, n in sized[-1:] if args.quick else sized:  # a smoke run: the full size only
                    log(f"browser, PostgreSQL, {n:,} rows")
                    bench_browser(url, engine, engine_name="postgresql", rows=n, reps=1 if args.quick else 3)
            if args.sqlite:
                bench_sqlite(small, full, parts, args, reps=reps)
    if "charts" in parts:
        log("chart libraries in the browser")
        bench_charts(args.quick)
    if "ingest" in parts:
        log("ingest")
        bench_ingest(events)
    if "matcher" in parts:
        bench_matcher(args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
