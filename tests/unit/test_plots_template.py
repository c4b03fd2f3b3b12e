"""dvc_plots/offline.html: DVC fills it with plots and adds no CDN script."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[2] / "dvc_plots" / "offline.html"


def test_template_has_dvc_placeholder_and_inlined_libraries():
    text = TEMPLATE.read_text(encoding="utf-8")
    assert "{plot_divs}" in text and "{scripts}" not in text
    for name in ("vega@5.20.2", "vega-lite@5.2.0", "vega-embed@6.18.2"):
        assert name in text
    assert text.count("<script>") == 3


def test_dvc_render_with_template_loads_nothing_from_a_network(tmp_path):
    from dvc_render import render_html
    from dvc_render.vega import VegaRenderer

    datapoints = [{"threshold": t, "f1": f, "rev": "workspace", "filename": "sweep.csv"}
                  for t, f in [(0.1, 0.5), (0.5, 0.7), (0.9, 0.4)]]
    renderer = VegaRenderer(datapoints, "sweep.csv", x="threshold", y="f1")
    assert "cdn.jsdelivr.net" in renderer.SCRIPTS              # what the default page would load
    out = Path(render_html([renderer], tmp_path / "index.html", html_template=str(TEMPLATE)))
    page = out.read_text(encoding="utf-8")
    assert "vegaEmbed(" in page and '"threshold"' in page
    assert re.findall(r"<(?:script|link)\b[^>]*(?:src|href)=", page) == []
