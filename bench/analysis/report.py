"""`bench report`: every artefact of the registry that applies, written as files, linked from an index.md.

An artefact that does not apply is not drawn, and index.md says "not produced: <why>" - the line `bench table`
prints for it. Nothing is read back and the store is never written: only ``out_dir`` is, never through a
symbolic link at a file's path (bench.files).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import provenance
from ..files import write_file
from ..metrics import LABELS
from ..run_status import FAILED
from .artefact import Artefact, built_for
from .context import Context, NotApplicable


@dataclass
class Section:
    """One entry of index.md: the files written, or why there are none."""
    title: str
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def write_report(ctx: Context, out_dir: Path, artefacts: list[Artefact], *, invocations: pd.DataFrame,
                 environments: pd.DataFrame) -> list[Path]:
    """Write ``artefacts`` (the registry's, in its order) into ``out_dir``; return the paths written, index.md
    last. ``invocations`` and ``environments``: the store's (``ResultStore.invocations()`` /
    ``.environments()``), for the index's account of what ran where."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sections = [_write(ctx, out_dir, artefact) for artefact in artefacts]
    index = out_dir / "index.md"
    write_file(index, _index(sections, ctx.frame, invocations, environments, ctx.selection))
    return [p for s in sections for p in s.files] + [index]


def _write(ctx: Context, out_dir: Path, artefact: Artefact) -> Section:
    section = Section(artefact.title(ctx))
    why = artefact.applies(ctx)
    if why:
        section.missing.append(why)
        return section
    section.notes += artefact.describe(ctx)
    built = []
    for metric in ctx.options.metrics if artefact.per_metric else [None]:
        try:
            section.notes += built_for(ctx, artefact, metric).summary
            built.append(metric)
        except NotApplicable as err:
            section.missing.append(f"{LABELS[metric]}: {err}" if metric else str(err))
    if not built:
        return section
    for fmt, metric in artefact.outputs(built):
        path = out_dir / artefact.filename(fmt, metric)
        content = artefact.render(ctx, metric, fmt)
        write_file(path, content)
        section.files.append(path)
    return section


def _index(sections: list[Section], frame: pd.DataFrame, invocations: pd.DataFrame,
           environments: pd.DataFrame, selection: str | None = None) -> str:
    read = f" ({selection}; \"What ran\" lists the whole store's invocations)" if selection else ""
    lines = ["# Benchmark report", "",
             f"From {len(frame)} stored rows{read}. Every table and figure below is computed from those rows; "
             "Markdown, LaTeX and CSV hold the same numbers, and each figure's numbers are in the CSV beside it.",
             "", "## What ran", ""] + provenance.invocation_lines(invocations) + [""]
    lines += ["## Environments", ""] + provenance.environment_lines(environments, frame) + [""]
    for section in sections:
        lines += [f"## {section.title}", ""]
        lines += [f"- [{p.name}]({p.name})" for p in section.files]
        lines += [f"- not produced: {why}" for why in section.missing]
        for note in section.notes:
            lines += ["", note]
        lines.append("")
    lines += ["## Failed runs per sampler", ""] + _failure_lines(frame)
    return "\n".join(lines) + "\n"


def _failure_lines(frame: pd.DataFrame) -> list[str]:
    failed = frame[frame["status"].isin(FAILED)]
    if failed.empty:
        return [f"No failed runs among {len(frame)}."]
    lines = ["| sampler | failed | of runs | most common message |", "|:---|---:|---:|:---|"]
    totals = frame.groupby("sampler").size()
    for sampler, rows in failed.groupby("sampler"):
        message = rows["message"].value_counts().index[0].replace("|", "\\|")
        lines.append(f"| {sampler} | {len(rows)} | {totals[sampler]} | {message[:160]} |")
    return lines
