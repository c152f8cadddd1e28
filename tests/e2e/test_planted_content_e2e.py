"""Client-supplied text is shown as text: a dashboard full of planted Markdown, HTML and links, opened in Chromium,
makes no request to any host but its own and renders no image or link to the planted host."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import quote, urlsplit

import pytest
from sqlalchemy import select

from core.db import make_engine
from core.metrics import FailcatMetrics
from core.schema import failure_matches as fm
from core.types import utcnow
from loaders.catalog.promotion import promote_entry
from loaders.ingest.pipeline import IngestPipeline
from loaders.migrate import migrate
from queries.failures.recovery import mark_recovery
from tests.e2e.conftest import LiveApp, add_demo_users, serve_dashboard, sign_in, wait_idle

pytestmark = pytest.mark.e2e

EVIL = "attacker.invalid"


def _img(name: str) -> str:
    return f"![{name}](http://{EVIL}/{name}.png)"


CODE = _img("code")
MESSAGE = (f"PLANTED message {_img('msg')} [Login here](http://{EVIL}/login) <img src=http://{EVIL}/html.png> "
           f":material/home: :red[red] $x^2$ http://{EVIL}/auto www.{EVIL} `x`{_img('tick')}`")
RUN = f"run`{_img('run')}`"
SKILL = f'=HYPERLINK("http://{EVIL}/s"){_img("skill")}'
TENANT = f"http://{EVIL}/tenant.png"
ACTOR = _img("actor")
NOTES = f"notes {_img('notes')} [click](http://{EVIL}/notes)"
# Markup that a chart library reading HTML in labels would run: these codes reach the Overview's top codes and
# the Trends movers, and must be drawn as their own text.
CHART_CODES = [f'<span style="background-image:url(http://{EVIL}/css.png)">S</span>',
               f'<span style="cursor:url(http://{EVIL}/cur.png),auto;font-size:90px">C</span>',
               f'<a href="http://{EVIL}/chart" target="_self">P</a>']


@pytest.fixture(scope="module")
def planted_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """A dashboard whose failures, recoveries and catalog entry carry planted Markdown in every text field."""
    tmp = tmp_path_factory.mktemp("planted")
    db_url = f"sqlite:///{tmp / 'planted.db'}"
    engine = make_engine(db_url)
    migrate(engine)
    now = utcnow()
    events = [{"tenant_id": TENANT, "run_id": RUN, "skill_id": SKILL, "error_code": CODE,
               "error_message": MESSAGE, "context": {"note": _img("ctx"), "link": f"http://{EVIL}/ctx"},
               "occurred_at": (now - timedelta(hours=i + 1)).isoformat()} for i in range(4)]
    events += [{"tenant_id": TENANT, "run_id": f"r{i}", "error_message": f"PLANTED widget {_img('cand')} {i}",
                "occurred_at": (now - timedelta(hours=i + 1)).isoformat()} for i in range(4)]
    events += [{"tenant_id": TENANT, "run_id": f"c{i}", "error_code": code, "error_message": "PLANTED chart label",
                "occurred_at": (now - timedelta(hours=i + 1)).isoformat()}
               for code in CHART_CODES for i in range(6)]
    # One each in the previous 30 days, so Trends has a period to compare with and draws its movers.
    events += [{"tenant_id": TENANT, "run_id": f"p{n}", "error_code": code, "error_message": "PLANTED chart label",
                "occurred_at": (now - timedelta(days=40)).isoformat()} for n, code in enumerate(CHART_CODES)]
    report = IngestPipeline(engine, metrics=FailcatMetrics()).ingest(events)
    assert report.inserted == len(events)
    with engine.begin() as conn:
        first = conn.execute(select(fm.c.id).where(fm.c.run_id == RUN).limit(1)).scalar_one()
        mark_recovery(conn, failure_id=first, succeeded=False, recovered_by=ACTOR, notes=NOTES)
        promote_entry(conn, created_by="admin", entry={
            "code": "PLANTED_ENTRY", "category": "PLANTED_CAT", "severity": "high", "recovery_mode": "ESCALATE",
            "message": f"entry {_img('entry')} [x](http://{EVIL}/entry)", "patterns": ["PLANTED message"],
            "recovery_suggestions": [f"suggest {_img('suggest')}", f"<img src=http://{EVIL}/s2.png>"],
        })
    add_demo_users(engine, TENANT)
    try:
        with serve_dashboard(db_url, tmp) as url:
            yield LiveApp(url=url, engine=engine, tenants=[TENANT], viewer_tenant=TENANT)
    finally:
        engine.dispose()


def _foreign(page_requests: list[str], base: str) -> list[str]:
    own = urlsplit(base).netloc
    return [u for u in page_requests if urlsplit(u).scheme in ("http", "https", "ws", "wss")
            and urlsplit(u).netloc != own]


def _planted_elements(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.evaluate(
        "(host) => [...document.querySelectorAll('img[src], a[href], iframe[src], source[src]')]"
        ".map(e => e.getAttribute('src') || e.getAttribute('href') || e.getAttribute('xlink:href'))"
        # Where the element points, not what its query says: the dashboard's own links may carry a planted
        # value, percent-encoded, as a filter (explore?tenant=http%3A%2F%2F...), which is the value as data.
        ".filter(u => u && new URL(u, document.baseURI).hostname.toLowerCase().includes(host))", EVIL)


def test_planted_markdown_is_shown_as_text_on_every_page(planted_app, page):
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    with planted_app.engine.connect() as conn:
        failure_id = conn.execute(select(fm.c.id).where(fm.c.run_id == RUN, fm.c.recovery_attempted.is_(True))
                                  ).scalar_one()
    tenant = quote(TENANT, safe="")
    paths = ["", f"?tenant={tenant}", f"explore?tenant={tenant}", f"explore?view=list&tenant={tenant}",
             "explore?group=signature", "explore?group=category", f"failure?id={failure_id}", "oncall",
             "trends", "catalog", "exports", "admin"]
    sign_in(page, planted_app.url, "admin")
    for path in paths:
        page.goto(f"{planted_app.url}/{path}")
        wait_idle(page, settle=1.0)
        if path == "catalog":
            page.get_by_role("tab", name="Candidate patterns").click()
            wait_idle(page, settle=1.0)
        assert not page.locator('[data-testid="stException"]').count(), path
        assert _planted_elements(page) == [], path
        assert _foreign(requests, planted_app.url) == [], (path, _foreign(requests, planted_app.url))
        if path in ("", "trends"):  # the planted chart labels are drawn as their own text
            charts = page.locator('[data-testid="stVegaLiteChart"]')
            charts.locator(".role-axis-label text").first.wait_for()
            labels = charts.locator(".role-axis-label text").evaluate_all("els => els.map(e => e.textContent)")
            assert any(label.startswith("<SPAN STYLE=") for label in labels), (path, labels)
            assert not charts.locator("a, foreignObject, [href]").count(), path
        if path.startswith("failure"):
            page.get_by_text("Same signature").first.wait_for()
            wait_idle(page)
            body = page.inner_text("body")
            for text in (CODE.upper(), RUN, "PLANTED message"):  # codes are stored upper-case
                assert text in body, text


@pytest.mark.parametrize("path", [
    f"failure?id=x%60{quote(_img('reflected'))}%60",
    f"explore?range=x%60{quote(_img('range'))}%60",
    f"explore?status=x%60{quote(_img('status'))}%60",
    f"explore?range=custom&from=x%60{quote(_img('from'))}%60",
    f"explore?tenant=x%60{quote(_img('tenant'))}%60",
    f"explore?severity=x%60{quote(_img('sev'))}%60&code=y{quote(_img('code'))}",
    f"trends?grain=x%60{quote(_img('grain'))}%60",
])
def test_crafted_links_echo_their_values_as_text(planted_app, page, path):
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    sign_in(page, planted_app.url, "admin", path)
    wait_idle(page, settle=1.0)
    assert not page.locator('[data-testid="stException"]').count()
    assert _planted_elements(page) == []
    assert _foreign(requests, planted_app.url) == []
    assert "![" in page.inner_text("body")  # the value is named, as text
