"""Controls and direction overrides in client text are written out as code points wherever the dashboard shows
text, so a title cannot reverse or hide what follows it."""
from __future__ import annotations

import pandas as pd

from dashboard.text import lit, text_frame, visible_text
from loaders.ingest.pipeline import IngestPipeline
from tests.support.apptest import app_for, signed_in

SPOOF = "invoice paid \u202eexe.fdp\u202c ok \u0007\u001b[31mred"


def test_overrides_and_controls_become_code_points():
    shown = visible_text(SPOOF)
    assert "\u202e" not in shown and "\x07" not in shown and "\x1b" not in shown
    assert "\\u202e" in shown and "\\u0007" in shown and "\\u001b[31mred" in shown
    assert visible_text("line one\nline two\tend") == "line one\nline two\tend"  # layout characters stay


def test_frames_and_inline_values_are_cleaned():
    frame = text_frame(pd.DataFrame({"title": [SPOOF, "plain"], "n": [1, 2]}))
    assert frame["title"][0] == visible_text(SPOOF) and frame["title"][1] == "plain" and list(frame["n"]) == [1, 2]
    assert "\u202e" not in lit(SPOOF)


def test_a_group_title_with_an_override_is_shown_as_code_points(engine):
    IngestPipeline(engine).ingest([{"tenant_id": "acme", "run_id": "r1", "error_code": "SPOOF",
                                    "error_message": SPOOF}])
    at = app_for("pages/explore.py", signed_in(engine), {"view": "groups"}).run()
    assert not at.exception, at.exception
    titles = list(at.dataframe[0].value["title"])
    assert titles and all("\u202e" not in t for t in titles) and any("\\u202e" in t for t in titles), titles
