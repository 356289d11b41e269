"""bench.analysis.render: Markdown, LaTeX and CSV rendering."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest

from bench.analysis.render import latex_escape, render_frame, render_rank_table

NAN = float("nan")

RANKS = pd.DataFrame(
    {
        "phoneme": [2.5, 1.5, NAN, 2.0],
        "eeg-eye-state": [3.0, NAN, 1.25, 1.75],
        "overall": [2.75, 1.5, 1.25, 1.875],
    },
    index=pd.Index(["No-resampling", "Borderline_SMOTE1", "SMOTE", "AutoSMOTE"], name="sampler"),
)
MARKS = pd.DataFrame(
    {
        "phoneme": [True, False, False, False],
        "eeg-eye-state": [True, False, False, False],
        "overall": [True, False, False, False],
    },
    index=RANKS.index,
)
GROUPS = {"No-resampling": "No-resampling", "Borderline_SMOTE1": "over", "SMOTE": "over", "AutoSMOTE": "auto"}
NOTES = ["Wilcoxon signed-rank test, p < 0.05 (scipy zero_method='wilcox').", "— = incomplete."]


def test_markdown_rank_table():
    out = render_rank_table(RANKS, MARKS, fmt="markdown", title="Table 2: Macro-F1", notes=NOTES, groups=GROUPS)
    lines = out.splitlines()
    assert "Table 2: Macro-F1" in lines[0]
    header = "| Category | Sampler | phoneme | eeg-eye-state | overall |"
    assert header in lines
    i = lines.index(header)
    assert lines[i + 1] == "|:---|:---|---:|---:|---:|"
    # rows in ranks.index order; NaN as an em dash; the mark; best (lowest) of each column bold
    assert lines[i + 2] == "| No-resampling | No-resampling | 2.50▲ | 3.00▲ | 2.75▲ |"
    assert lines[i + 3] == "| over | Borderline_SMOTE1 | **1.50** | — | 1.50 |"
    assert lines[i + 4] == "| over | SMOTE | — | **1.25** | **1.25** |"
    assert lines[i + 5] == "| auto | AutoSMOTE | 2.00 | 1.75 | 1.88 |"
    # notes under the table, after a blank line
    assert lines[i + 6] == ""
    assert NOTES[0] in lines[i + 7:]
    assert NOTES[1] in lines[i + 7:]


def test_markdown_without_groups_or_marks_and_tied_best():
    ranks = pd.DataFrame({"d": [1.5, 1.5, 3.0]}, index=["A", "B", "C"])
    out = render_rank_table(ranks, None, fmt="markdown", title="", notes=[])
    assert "| Sampler | d |" in out
    assert "| A | **1.50** |" in out and "| B | **1.50** |" in out  # ties are all bold
    assert "| C | 3.00 |" in out
    assert "▲" not in out


def test_latex_rank_table():
    out = render_rank_table(RANKS, MARKS, fmt="latex", title="Average rank (Macro_F1)", notes=NOTES, groups=GROUPS)
    assert r"\begin{table}" in out and r"\end{table}" in out
    assert r"\begin{tabular}{llrrr}" in out
    for rule in (r"\toprule", r"\midrule", r"\bottomrule"):
        assert out.count(rule) == 1
    assert r"\caption{Average rank (Macro\_F1)}" in out
    assert r"Borderline\_SMOTE1" in out
    assert "Borderline_SMOTE1" not in out
    assert r"No-resampling & No-resampling & 2.50$^\blacktriangle$ & 3.00$^\blacktriangle$ & 2.75$^\blacktriangle$ \\" in out
    assert r"over & Borderline\_SMOTE1 & \textbf{1.50} & -- & 1.50 \\" in out
    assert r"over & SMOTE & -- & \textbf{1.25} & \textbf{1.25} \\" in out
    # notes escaped (underscore, <) and placed after the tabular, inside the table float
    assert r"zero\_method" in out and r"p \textless{} 0.05" in out
    assert out.index(r"\end{tabular}") < out.index(r"zero\_method") < out.index(r"\end{table}")
    # no bare underscore anywhere outside comments
    body = "\n".join(line for line in out.splitlines() if not line.startswith("%"))
    assert "_" not in body.replace(r"\_", "")


def test_latex_escape():
    assert latex_escape("a_b & c%d #1 $x {y} ~^") == r"a\_b \& c\%d \#1 \$x \{y\} \textasciitilde{}\textasciicircum{}"


def test_csv_rank_table():
    out = render_rank_table(RANKS, MARKS, fmt="csv", title="ignored", notes=NOTES, groups=GROUPS)
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == [
        "category", "sampler", "phoneme", "phoneme_better", "eeg-eye-state", "eeg-eye-state_better",
        "overall", "overall_better",
    ]
    assert rows[1] == ["No-resampling", "No-resampling", "2.50", "1", "3.00", "1", "2.75", "1"]
    assert rows[2] == ["over", "Borderline_SMOTE1", "1.50", "0", "", "0", "1.50", "0"]  # NaN -> empty
    assert rows[4] == ["auto", "AutoSMOTE", "2.00", "0", "1.75", "0", "1.88", "0"]
    assert len(rows) == 5  # no title, no notes, no bold
    assert "ignored" not in out and "**" not in out and "Wilcoxon" not in out
    # round-trips through pandas with NaN for empty cells
    df = pd.read_csv(io.StringIO(out))
    assert np.isnan(df.loc[1, "eeg-eye-state"])
    assert df["phoneme_better"].tolist() == [1, 0, 0, 0]


def test_marks_misaligned_are_reindexed():
    marks = pd.DataFrame({"overall": [True]}, index=["AutoSMOTE"])  # partial marks frame
    out = render_rank_table(RANKS, marks, fmt="markdown", title="t", notes=[])
    assert "| AutoSMOTE | 2.00 | 1.75 | 1.88▲ |" in out
    assert out.count("▲") == 1


def test_unknown_format():
    with pytest.raises(ValueError):
        render_rank_table(RANKS, None, fmt="html", title="t", notes=[])
    with pytest.raises(ValueError):
        render_frame(RANKS, fmt="html", title="t")


STATS = pd.DataFrame(
    {
        "ir": [10, 50],
        "n_train": [1000, 980],
        "minority_share": [0.0909, NAN],
        "name_note": ["a_b", None],
    },
    index=pd.Index(["phoneme", "eeg-eye-state"], name="dataset"),
)


def test_render_frame_markdown():
    out = render_frame(STATS, fmt="markdown", title="Table 1", notes=["n = samples"])
    lines = out.splitlines()
    assert "| dataset | ir | n_train | minority_share | name_note |" in lines
    assert "|:---|---:|---:|---:|:---|" in lines
    assert "| phoneme | 10 | 1000 | 0.09 | a_b |" in lines  # ints stay ints next to a float column
    assert "| eeg-eye-state | 50 | 980 | — | — |" in lines
    assert lines[-1] == "n = samples"


def test_render_frame_latex_and_csv():
    tex = render_frame(STATS, fmt="latex", title="Table 1", notes=[])
    assert r"\toprule" in tex and r"n\_train" in tex and r"a\_b" in tex
    assert r"eeg-eye-state & 50 & 980 & -- & -- \\" in tex
    text = render_frame(STATS, fmt="csv", title="Table 1")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        ["dataset", "ir", "n_train", "minority_share", "name_note"],
        ["phoneme", "10", "1000", "0.09", "a_b"],
        ["eeg-eye-state", "50", "980", "", ""],
    ]
    # unnamed RangeIndex is not shown; custom float format
    plain = render_frame(STATS.reset_index(), fmt="csv", title="", float_format="{:.4f}")
    assert plain.splitlines()[1] == "phoneme,10,1000,0.0909,a_b"
