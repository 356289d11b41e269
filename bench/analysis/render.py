"""Rendering of result tables as Markdown, LaTeX (booktabs) or CSV. Rendering only: no statistics.

Conventions (all formats):
- numbers to 2 decimals by default; NaN is "—" in Markdown, "--" in LaTeX and an empty cell in CSV;
- a significance mark is "▲" in Markdown, ``$^\\blacktriangle$`` in LaTeX, and in CSV a separate 0/1
  column ``<column>_better`` after each value column (as in ``shared/paper-tables``);
- in rank tables the best (lowest) rank of each column, as displayed, is bold (all tied ones);
- notes go under the table (Markdown: paragraphs after a blank line; LaTeX: a footnote-size minipage
  after the tabular inside the ``table`` float; CSV: omitted, as is the title).

The LaTeX output needs ``\\usepackage{booktabs}`` and, for the mark, ``\\usepackage{amssymb}``.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["FORMATS", "render_rank_table", "render_frame", "latex_escape"]

FORMATS = ("markdown", "latex", "csv")

_NA = {"markdown": "—", "latex": "--", "csv": ""}
_MARK = {"markdown": "▲", "latex": r"$^\blacktriangle$"}

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    "▲": r"$^\blacktriangle$",
    "—": "--",  # same as a NaN cell, so a note "— = missing" matches the table
    "–": "--",
}


def latex_escape(text: object) -> str:
    """Escape LaTeX special characters (and map ▲ / dashes) in plain text."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def _md_escape(text: object) -> str:
    return str(text).replace("|", r"\|").replace("\n", " ")


def _check_fmt(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, not {fmt!r}")


def _is_missing(v: object) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    try:
        return isinstance(v, (float, np.floating)) and not math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def _fmt_value(v: object, float_format: str) -> str | None:
    """Text of a cell, None when missing."""
    if _is_missing(v):
        return None
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return float_format.format(float(v))
    return str(v)


def _csv(header: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _markdown(title: str, header: list[str], rows: list[list[str]], align: list[str], notes: Sequence[str]) -> str:
    lines = []
    if title:
        lines += [f"**{_md_escape(title)}**", ""]
    lines.append("| " + " | ".join(_md_escape(h) for h in header) + " |")
    lines.append("|" + "|".join("---:" if a == "r" else ":---" for a in align) + "|")
    for r in rows:
        lines.append("| " + " | ".join(r) + " |")
    for note in notes:
        lines += ["", _md_escape(note)]
    return "\n".join(lines) + "\n"


def _latex(title: str, header: list[str], rows: list[list[str]], align: list[str], notes: Sequence[str]) -> str:
    lines = [
        "% requires \\usepackage{booktabs} and \\usepackage{amssymb}",
        r"\begin{table}[htbp]",
        r"\centering",
        r"\small",
    ]
    if title:
        lines.append(r"\caption{" + latex_escape(title) + "}")
    lines += [
        r"\begin{tabular}{" + "".join(align) + "}",
        r"\toprule",
        " & ".join(latex_escape(h) for h in header) + r" \\",
        r"\midrule",
    ]
    lines += [" & ".join(r) + r" \\" for r in rows]
    lines += [r"\bottomrule", r"\end{tabular}"]
    if notes:
        lines += [r"\par\smallskip", r"\begin{minipage}{\linewidth}\footnotesize"]
        lines += [latex_escape(n) + r"\par" for n in notes]
        lines.append(r"\end{minipage}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def render_rank_table(
    ranks: pd.DataFrame,
    marks: pd.DataFrame | None,
    *,
    fmt: str,
    title: str,
    notes: Sequence[str],
    groups: dict[str, str] | None = None,
) -> str:
    """Render a rank table (rows = samplers, columns = datasets + "overall").

    ``marks``: boolean frame aligned on ``ranks`` (missing cells count as False) -- True adds the
    significance mark. ``groups``: sampler -> category, shown as the first column (rows keep the order
    of ``ranks.index``; a sampler without a category gets an empty cell). Lowest displayed rank per
    column is bold (Markdown / LaTeX).
    """
    _check_fmt(fmt)
    values = ranks.astype(float)
    cols = list(values.columns)
    if marks is None:
        mk = pd.DataFrame(False, index=values.index, columns=cols)
    else:
        mk = marks.reindex(index=values.index, columns=cols).eq(True)   # absent marks are False
    # compare what is displayed: the 2-decimal text, parsed back
    rounded = values.apply(lambda col: col.map(lambda v: float(f"{v:.2f}") if math.isfinite(v) else np.nan))
    best = rounded.min(axis=0, skipna=True)

    lead_header = (["category"] if groups is not None else []) + ["sampler"]
    if fmt != "csv":
        lead_header = [h.capitalize() for h in lead_header]

    rows: list[list[str]] = []
    for sampler in values.index:
        lead = ([str(groups.get(sampler, ""))] if groups is not None else []) + [str(sampler)]
        if fmt == "markdown":
            lead = [_md_escape(x) for x in lead]
        elif fmt == "latex":
            lead = [latex_escape(x) for x in lead]
        cells: list[str] = []
        for c in cols:
            v = values.at[sampler, c]
            m = bool(mk.at[sampler, c])
            if not math.isfinite(v):
                text = _NA[fmt]
            else:
                text = f"{v:.2f}"
                if fmt != "csv" and rounded.at[sampler, c] == best[c]:
                    text = f"**{text}**" if fmt == "markdown" else rf"\textbf{{{text}}}"
            if fmt == "csv":
                cells += [text, "1" if m else "0"] if marks is not None else [text]
            else:
                cells.append(text + (_MARK[fmt] if m else ""))
        rows.append(lead + cells)

    if fmt == "csv":
        header = lead_header.copy()
        for c in cols:
            header += [str(c), f"{c}_better"] if marks is not None else [str(c)]
        return _csv(header, rows)
    header = lead_header + [str(c) for c in cols]
    align = ["l"] * len(lead_header) + ["r"] * len(cols)
    if fmt == "markdown":
        return _markdown(title, header, rows, align, notes)
    return _latex(title, header, rows, align, notes)


def render_frame(
    df: pd.DataFrame,
    *,
    fmt: str,
    title: str,
    notes: Sequence[str] = (),
    float_format: str = "{:.2f}",
) -> str:
    """Render any frame (e.g. dataset statistics) with the same conventions as rank tables.

    The index is shown as leading column(s) unless it is an unnamed default RangeIndex; a MultiIndex
    gives one column per level; MultiIndex columns are joined with " / ". Integers print as integers,
    floats with ``float_format``; NaN/None as in rank tables. No bold, no marks.
    """
    _check_fmt(fmt)
    show_index = not (isinstance(df.index, pd.RangeIndex) and df.index.name is None)
    if show_index:
        names = [n if n is not None else "" for n in df.index.names]
        index_tuples = [t if isinstance(t, tuple) else (t,) for t in df.index]
    else:
        names, index_tuples = [], [()] * len(df)
    col_names = [" / ".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in df.columns]
    header = [str(n) for n in names] + col_names

    def numeric(s: pd.Series) -> bool:
        return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)

    align = ["l"] * len(names) + ["r" if numeric(df.iloc[:, j]) else "l" for j in range(df.shape[1])]

    rows: list[list[str]] = []
    for i in range(len(df)):
        raw = list(index_tuples[i]) + [df.iat[i, j] for j in range(df.shape[1])]  # iat keeps column dtypes
        row = []
        for v in raw:
            text = _fmt_value(v, float_format)
            if text is None:
                row.append(_NA[fmt])
            elif fmt == "markdown":
                row.append(_md_escape(text))
            elif fmt == "latex":
                row.append(latex_escape(text))
            else:
                row.append(text)
        rows.append(row)

    if fmt == "csv":
        return _csv(header, rows)
    if fmt == "markdown":
        return _markdown(title, header, rows, align, notes)
    return _latex(title, header, rows, align, notes)
