"""What the PNG renderers share: plain text for matplotlib, and figures saved reproducibly."""

from __future__ import annotations

import io
import warnings

from matplotlib.figure import Figure

__all__ = ["mpl_text", "png_bytes"]


def mpl_text(text: str) -> str:
    """``text`` as matplotlib shows it literally: a pair of "$" would switch to mathtext."""
    return text.replace("$", r"\$")


def png_bytes(fig: Figure, *, dpi: float) -> bytes:
    """``fig`` as PNG bytes without time stamps or software version: same figure, same bytes."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # Names in scripts the bundled font lacks render as boxes; that is not worth a warning.
        warnings.filterwarnings("ignore", message=r"Glyph .* missing")
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()
