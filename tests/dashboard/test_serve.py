"""dashboard.serve: the dashboard's server imports what the pages import before it starts serving."""
from __future__ import annotations

import subprocess
import sys
import textwrap

from dashboard.serve import ROOT, page_modules, preload


def test_page_modules_lists_what_app_and_pages_import_at_top_level(tmp_path):
    (tmp_path / "pages").mkdir()
    (tmp_path / "app.py").write_text("from __future__ import annotations\nimport json\nfrom dashboard import ui\n")
    (tmp_path / "pages" / "a.py").write_text(textwrap.dedent("""
        import csv, json
        from .local import thing
        from dashboard.charts import build_bar_chart
        def later():
            import sqlite3
    """))
    assert page_modules(tmp_path) == ["json", "dashboard", "csv", "dashboard.charts"]


def test_the_real_pages_modules_include_the_chart_and_frame_libraries():
    names = page_modules()
    assert "pandas" in names and "dashboard.trend_charts" in names and "dashboard.session" in names


def test_preload_reports_a_module_that_cannot_be_imported_and_goes_on(tmp_path):
    (tmp_path / "pages").mkdir()
    (tmp_path / "app.py").write_text("import json\nimport failcat_no_such_module\nimport csv\n")
    assert preload(tmp_path) == ["failcat_no_such_module"]
    assert "csv" in sys.modules


def test_a_fresh_process_has_the_chart_modules_loaded_before_streamlit_runs():
    code = ("import sys; from dashboard.serve import preload; "
            "before = 'altair' in sys.modules; failed = preload(); "
            "print(before, failed, 'altair' in sys.modules, 'dashboard.trend_charts' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.split() == ["False", "[]", "True", "True"]
    assert "No runtime found" not in res.stderr  # the caches' start-up notes are kept out of the server's log
