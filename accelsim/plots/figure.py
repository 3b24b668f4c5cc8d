"""Figures without global state: a :class:`matplotlib.figure.Figure` rendered by Agg, saved atomically.

Plots never touch ``matplotlib.pyplot`` (no global figure registry, no interactive backend): a
figure is built with :func:`new_figure` and written with :func:`save_figure`, whose format follows
the file's suffix (``.png``, ``.svg`` or ``.pdf``).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError
from ..hw.config import PeKind
from ..outputs import atomic_write_bytes

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Output formats by file suffix.
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
#: Raster resolution of PNG output, dots per inch.
DPI = 150
#: One color per PE kind, the same in every plot.
KIND_COLORS = {PeKind.KRP_GSNQ: "#1b9e77", PeKind.GSNQ_SHIFT: "#d95f02", PeKind.MULT_LUT: "#7570b3",
               PeKind.MULT_DSP: "#e7298a"}
#: One line style per PE kind, so coinciding curves stay distinguishable.
KIND_LINES = {PeKind.KRP_GSNQ: "-", PeKind.GSNQ_SHIFT: "--", PeKind.MULT_LUT: ":", PeKind.MULT_DSP: "-."}


def plain(value: float, _position: int | None = None) -> str:
    """Axis tick label of a plain number (no powers of ten on log axes)."""
    return f"{value:g}"


def thousands(value: float, _position: int | None = None) -> str:
    """Axis tick label with thousands separators (cycle counts)."""
    return f"{value:,.0f}"


def output_format(path: str | Path) -> str:
    """The format named by ``path``'s suffix.

    Raises:
        ConfigError: a suffix other than .png, .svg, .pdf.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ConfigError(f"plot file must end in .png, .svg or .pdf, not {str(path)!r}")
    return FORMATS[suffix]


def new_figure(width: float = 8.0, height: float = 5.0) -> Figure:
    """An empty figure of ``width`` x ``height`` inches on an Agg canvas (matplotlib is imported here)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure: Figure, path: str | Path) -> Path:
    """Write ``figure`` to ``path`` (format by suffix), atomically; return the path.

    Raises:
        ConfigError: an unknown suffix or a missing folder.
    """
    kind = output_format(path)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=kind, dpi=DPI)
    return atomic_write_bytes(path, buffer.getvalue())
