"""Matplotlib figures drawn off-screen (Agg) and turned into inline SVG markup: no HTML, no files."""

from __future__ import annotations

import io
from typing import Any


def figure(width: float = 4.5, height: float = 3.5) -> tuple[Any, Any]:
    """A new matplotlib figure and axes using the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))


def svg(fig: Any) -> str:
    """A matplotlib figure as inline SVG markup (figure closed afterwards). No dates, and element ids hashed from
    their content with a fixed salt (matplotlib salts them with a random UUID otherwise), so the same figure gives
    the same bytes."""
    import matplotlib
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "mlplatform"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight",
                    metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]
