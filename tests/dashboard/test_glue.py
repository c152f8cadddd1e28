"""Pure parts of the dashboard glue: chart builders, re-bucketing, the dashboard command; SSO and flag banner."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pandas as pd
from click.testing import CliRunner

from cli import main
from cli.dashboard import streamlit_command, streamlit_environment
from core.settings import get_settings
from dashboard import charts
from queries.flags import CATALOG_FLAG, set_flag
from queries.reports.overview import add_rates, resample_series
from tests.support.apptest import app_for, signed_in
from tests.support.charts import encoding, layer_rows, layers, rows, spec


def _hourly(n: int = 48) -> pd.DataFrame:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    df = pd.DataFrame({
        "bucket": [start + timedelta(hours=i) for i in range(n)],
        "failures": [10] * n, "matched": [7] * n, "recovery_attempts": [4] * n,
        "recovery_successes": [i % 5 for i in range(n)],
    })
    return add_rates(df)


def test_resample_recomputes_rates_from_counts():
    daily = resample_series(_hourly(48), "D")
    assert daily["failures"].tolist() == [240, 240]
    assert daily["hit_rate"].tolist() == [0.7, 0.7]
    successes = sum(i % 5 for i in range(24))
    assert daily["recovery_success_rate"].iloc[0] == successes / 96


def test_rate_chart_has_threshold_line_and_percent_axis():
    chart = charts.build_rate_chart(_hourly(), x="bucket", y="hit_rate", threshold=0.7, threshold_label="alert")
    line, rule, label = layers(chart)
    assert layer_rows(chart, rule) == [{"level": 0.7, "label": "alert"}] and rule["mark"]["type"] == "rule"
    assert encoding(line, "y")["axis"]["format"] == ".0%"
    assert [r["hit_rate"] for r in layer_rows(chart, line)] == [0.7] * 48


def test_bar_and_stacked_charts_keep_values():
    df = pd.DataFrame({"code": ["A", "B"], "n": [5, 3], "ok": [2, 1], "bad": [3, 2]})
    bar = charts.build_bar_chart(df, x="code", y="n", horizontal=True, clickable=True)
    assert encoding(spec(bar), "y")["sort"] == ["A", "B"]  # the first row (the largest) drawn on top
    assert [r["n"] for r in rows(bar)] == [5, 3]
    assert spec(bar)["params"][0]["name"] == charts.PICK  # a click selects the bar's code
    stacked = charts.build_stacked_bar(df, x="code", ys=["ok", "bad"], labels=["succeeded", "failed"])
    assert [(r["code"], r["series"], r["value"]) for r in rows(stacked)] == [
        ("A", "succeeded", 2), ("A", "failed", 3), ("B", "succeeded", 1), ("B", "failed", 2)]
    assert encoding(spec(stacked), "color")["scale"]["domain"] == ["succeeded", "failed"]


def test_time_bars_fill_their_bucket_with_a_gap():
    df = pd.DataFrame({"bucket": pd.date_range("2026-11-01", periods=3, freq="6h", tz="UTC"), "n": [1, 2, 3]})
    bar = charts.build_bar_chart(df, x="bucket", y="n")
    first = rows(bar)[0]
    assert str(first["bucket"]).startswith("2026-11-01T00:00") and str(first["end"]).startswith("2026-11-01T05:06")


def test_dashboard_command_runs_streamlit_on_host_and_port():
    cmd = streamlit_command("0.0.0.0", 9999)
    assert cmd[1:4] == ["-m", "dashboard.serve", "run"] and cmd[4].endswith("app.py")
    assert cmd[cmd.index("--server.address") + 1] == "0.0.0.0" and cmd[cmd.index("--server.port") + 1] == "9999"
    result = CliRunner().invoke(main, ["dashboard", "--help"])
    assert result.exit_code == 0 and "--port" in result.output


def test_the_dashboard_believes_forwarded_addresses_from_trusted_proxies_only(monkeypatch):
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    seen: list[tuple[str, int]] = []

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        seen.append(scope["client"])

    def client_seen(env: dict[str, str]) -> str:
        # The middleware Streamlit's uvicorn wraps the app in, configured as the environment says.
        middleware = ProxyHeadersMiddleware(app, trusted_hosts=env["FORWARDED_ALLOW_IPS"])
        scope = {"type": "http", "client": ("127.0.0.1", 5000), "scheme": "http",
                 "headers": [(b"x-forwarded-for", b"10.9.9.9")]}
        asyncio.run(middleware(scope, None, None))  # type: ignore[arg-type]
        return seen[-1][0]

    get_settings.cache_clear()
    monkeypatch.delenv("TRUSTED_PROXIES", raising=False)
    assert client_seen(streamlit_environment({"FORWARDED_ALLOW_IPS": "*"})) == "127.0.0.1"
    monkeypatch.setenv("TRUSTED_PROXIES", "127.0.0.1")
    get_settings.cache_clear()
    assert client_seen(streamlit_environment({})) == "10.9.9.9"
    get_settings.cache_clear()


def test_sso_button_when_auth_is_configured(engine):
    at = app_for("app.py", None)
    at.secrets["auth"] = {"redirect_uri": "http://localhost/oauth2callback", "cookie_secret": "x" * 32,
                          "client_id": "id", "client_secret": "s",
                          "server_metadata_url": "https://idp.invalid/.well-known/openid-configuration"}
    at.run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in with single sign-on"]
    assert not at.text_input  # no password form beside SSO


def test_flag_off_banner_on_every_page(engine, seeded):
    with engine.begin() as conn:
        set_flag(conn, name=CATALOG_FLAG, enabled=False, updated_by="test")
    at = app_for("pages/explore.py", signed_in(engine)).run()
    assert not at.exception
    assert any("switched **off**" in w.value for w in at.warning)


def _ms(ts: datetime) -> dict[str, int | bool]:
    """Vega-Lite's DateTime object of a UTC instant."""
    return {"year": ts.year, "month": ts.month, "date": ts.day, "hours": ts.hour, "minutes": ts.minute,
            "seconds": ts.second, "milliseconds": ts.microsecond // 1000, "utc": True}


def test_time_axes_cover_the_whole_period_when_the_last_hours_had_no_failures():
    # Failures in the first 6 hours of a 24-hour range only: the axis still runs to the range's end.
    start = datetime(2026, 1, 1, tzinfo=UTC)
    df = add_rates(_hourly(6))
    span = (start, start + timedelta(hours=24))
    rate = charts.build_rate_chart(df, x="bucket", y="hit_rate", span=span)
    assert encoding(layers(rate)[0], "x")["scale"]["domain"] == [_ms(span[0]), _ms(span[1])]
    bars = charts.build_bar_chart(df, x="bucket", y="failures", span=span)
    assert encoding(layers(bars)[0], "x")["scale"]["domain"] == [_ms(span[0]), _ms(span[1])]
    # A bucket or a bar's end beyond the span widens the axis instead of cutting the mark off.
    late = charts.build_bar_chart(df, x="bucket", y="failures", span=(start, start + timedelta(hours=5, minutes=30)))
    last_bar_end = start + timedelta(hours=5) + timedelta(hours=1) * 0.85
    assert encoding(layers(late)[0], "x")["scale"]["domain"] == [_ms(start), _ms(last_bar_end)]
    # Without a span the axis is the data's.
    assert "domain" not in encoding(layers(charts.build_rate_chart(df, x="bucket", y="hit_rate"))[0], "x")["scale"]


def test_a_span_in_the_viewers_zone_is_drawn_as_its_wall_clock_time():
    tokyo = pd.Timestamp("2026-01-01 09:00", tz="Asia/Tokyo")
    df = pd.DataFrame({"bucket": [tokyo], "failures": [3]})
    chart = charts.build_bar_chart(df, x="bucket", y="failures", span=(tokyo, tokyo + pd.Timedelta(hours=24)))
    # 09:00 in Tokyo is drawn at 09:00 on the UTC scale (the page already chose the zone).
    assert encoding(layers(chart)[0], "x")["scale"]["domain"][0] == _ms(datetime(2026, 1, 1, 9, tzinfo=UTC))
