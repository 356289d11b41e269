"""The shape every table and figure has: a key, a heading, its rows, when it does not apply, a build, renders.

An artefact is built once per metric (``per_metric``) or once for all of them (metric None), from a
:class:`~bench.analysis.context.Context`; :meth:`Artefact.render` turns the build into the text (or PNG
bytes) of one format. `bench table` prints, and `bench report` writes, what :func:`render` returns.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..data.split_protocol import SplitKind
from . import render as text
from .context import Context, NotApplicable

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TABLE_FORMATS = {"markdown": "md", "latex": "tex", "csv": "csv"}
FIGURE_FORMATS = {"png": "png", "csv": "csv"}
DPI = 150


class MarkNote(str):
    """A note that explains the ▲ mark: the Markdown rendering starts it with the mark."""


@dataclass
class Built:
    """One build: the frame rendered (a table's body, a figure's numbers), its title and notes (under the
    table, or under the figure), ``summary`` lines for the report's index, and what drawing needs."""
    title: str
    frame: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


class Artefact:
    """Base of every table and figure; subclasses set the class attributes and define rows/applies/build."""
    key: str                        # `bench table --table KEY`
    stem: str                       # file name: STEM.EXT, or STEM_METRIC.EXT when per_metric
    heading: str                    # the report's section title
    formats: dict[str, str] = TABLE_FORMATS
    per_metric: bool = True
    readable: bool = True           # False: it computes (Figure 7 runs samplers), so `bench table` cannot print it
    in_report: bool = True          # False: not of a store alone (a plan's cost), so `bench report` leaves it out

    def title(self, ctx: Context) -> str:
        return self.heading

    def rows(self, ctx: Context) -> pd.DataFrame:
        return ctx.rows(SplitKind.IR)

    def applies(self, ctx: Context) -> str | None:
        """None, or one line saying why the rows cannot make this artefact."""
        return None if not self.rows(ctx).empty else "no rows of the paper's IR protocol"

    def describe(self, ctx: Context) -> list[str]:
        """The report's lines on the section as a whole (e.g. the rows it was computed from)."""
        return []

    def build(self, ctx: Context, metric: str | None) -> Built:
        raise NotImplementedError

    def outputs(self, metrics) -> list[tuple[str, str | None]]:
        """(format, metric) of every file, in the report's order."""
        return [(fmt, m) for m in (metrics if self.per_metric else [None]) for fmt in self.formats]

    def filename(self, fmt: str, metric: str | None) -> str:
        return f"{self.stem}{'_' + metric if metric else ''}.{self.formats[fmt]}"

    def render(self, ctx: Context, metric: str | None, fmt: str) -> str | bytes:
        built = built_for(ctx, self, metric)
        return text.render_frame(built.frame, fmt=fmt, title=built.title, notes=notes_for(built.notes, fmt))


class FigureArtefact(Artefact):
    """A figure: PNG, and its numbers as CSV."""
    formats = FIGURE_FORMATS

    def draw(self, built: Built) -> Figure:
        raise NotImplementedError

    def render(self, ctx: Context, metric: str | None, fmt: str) -> str | bytes:
        built = built_for(ctx, self, metric)
        if fmt == "csv":
            return built.frame.to_csv(index=False)
        buffer = io.BytesIO()
        self.draw(built).savefig(buffer, format="png", dpi=DPI)
        return buffer.getvalue()


def built_for(ctx: Context, artefact: Artefact, metric: str | None) -> Built:
    """The artefact's build for ``metric``, made once per context. Raises NotApplicable."""
    key = (artefact.key, metric)
    if key not in ctx.builds:
        why = artefact.applies(ctx)
        if why:
            raise NotApplicable(why)
        try:
            ctx.builds[key] = artefact.build(ctx, metric)
        except NotApplicable as err:
            ctx.builds[key] = err
    if isinstance(ctx.builds[key], NotApplicable):
        raise ctx.builds[key]
    return ctx.builds[key]


def notes_for(notes: list[str], fmt: str) -> list[str]:
    return [("▲ " if fmt == "markdown" else "") + note if isinstance(note, MarkNote) else note for note in notes]
