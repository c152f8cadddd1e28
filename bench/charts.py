"""What a chart library costs a Streamlit page in the browser: the same page (a title and three bar charts of ten
bars) drawn with plotly, with Vega-Lite (Altair) and without charts, each opened as a link in a new tab of
headless Chromium; the median of `reps` opens after a first one that fills the browser's cache.

The dashboard's pages pay this on every link opened and on the first chart page reached from the sidebar.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

from bench import browser
from bench.servers import free_port, serving

STREAMLIT = str(Path(sys.executable).with_name("streamlit"))
_HEAD = ("import pandas as pd\nimport streamlit as st\n\nst.title('Charts')\n"
         "frame = pd.DataFrame({'x': list('abcdefghij'), 'y': range(10)})\n")
APPS = {
    "none": _HEAD + "for i in range(3):\n    st.text(f'chart {i}')\n",
    "plotly": _HEAD + "import plotly.express as px\n\nfor i in range(3):\n"
                      "    st.plotly_chart(px.bar(frame, x='x', y='y'), key=f'c{i}')\n",
    "vega_lite": _HEAD + "import altair as alt\n\nfor i in range(3):\n"
                         "    st.altair_chart(alt.Chart(frame).mark_bar().encode(x='x', y='y'), key=f'c{i}')\n",
}


def measure(reps: int = 5) -> dict[str, float]:
    """Library name -> median milliseconds until the page opened as a link is drawn."""
    from playwright.sync_api import sync_playwright

    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="failcat-bench-charts-") as tmp, sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=browser.CHROMIUM,
                                      args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            for name, source in APPS.items():
                script = Path(tmp) / f"{name}.py"
                script.write_text(source)
                port = free_port()
                args = [STREAMLIT, "run", str(script), "--server.port", str(port), "--server.address", "127.0.0.1",
                        "--server.headless", "true", "--browser.gatherUsageStats", "false"]
                with serving(args, f"http://127.0.0.1:{port}/_stcore/health", env=dict(os.environ), cwd=Path(tmp)):
                    context = chromium.new_context(viewport=browser.VIEWPORT)
                    context.add_init_script(browser.OBSERVE)
                    times = [browser.open_link(context, f"http://127.0.0.1:{port}/") for _ in range(reps + 1)]
                    context.close()
                out[name] = statistics.median(times[1:])
        finally:
            chromium.close()
    return out
