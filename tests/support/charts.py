"""Read what a Vega-Lite chart draws: its rows, layers and encodings, from the spec Altair builds."""
from __future__ import annotations

from typing import Any


def spec(chart: Any) -> dict[str, Any]:
    """The chart's Vega-Lite spec as a dict."""
    return chart.to_dict()


def rows(chart: Any) -> list[dict[str, Any]]:
    """Every data row the chart holds (all layers' datasets, in order)."""
    return [row for values in spec(chart).get("datasets", {}).values() for row in values]


def layers(chart: Any) -> list[dict[str, Any]]:
    """The chart's single views: its layers, or itself when it has none."""
    body = spec(chart)
    return body.get("layer") or [body]


def layer_rows(chart: Any, layer: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows one layer draws."""
    return spec(chart)["datasets"][layer["data"]["name"]]


def encoding(layer: dict[str, Any], channel: str) -> dict[str, Any]:
    """One channel of a layer's encoding."""
    return layer["encoding"][channel]
