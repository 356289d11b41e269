"""Issue 3 point 5: mean test Macro-F1 over seeds of AutoSMOTE, its random-search ablation and tuned SMOTE.

Also the searches' own objective, the best validation Macro-F1, paired per (dataset, IR, classifier, seed):
whether the learned search finds better synthetic sets on validation than random search, whether that
carries over to test, and how the approximation within_row_updates=False compares with the exact search;
and the searches' mean curves (best validation score after n episodes).
"""
import json
import sys

import pandas as pd
from scipy.stats import wilcoxon

from bench import stats
from bench.store import ResultStore

NAMES = {"AutoSMOTE[ablation=random_search]": "random search",
         "AutoSMOTE[within_row_updates=False]": "frozen rows (approx.)"}
PAIRS = [("AutoSMOTE", "random search"), ("frozen rows (approx.)", "AutoSMOTE")]

store = ResultStore(sys.argv[1], readonly=True)
frame = store.frame()
frame["sampler"] = frame["sampler"].replace(NAMES)
best = stats.select_best(frame, "macro_f1")
table = best.pivot_table(index=["dataset", "ir", "classifier"], columns="sampler", values="score",
                         aggfunc=["mean", "count"])
pd.set_option("display.width", 200)
print(table.round(4).to_string())
means = best.groupby("sampler")["score"].agg(["mean", "count"])
print(means.round(4).to_string())

searches = frame[frame["sampler"].isin(["AutoSMOTE", *NAMES.values()])].set_index(
    ["dataset", "ir", "classifier", "seed", "sampler"])[["val_macro_f1", "test_macro_f1"]].unstack("sampler")
for a, b in PAIRS:
    if ("val_macro_f1", a) not in searches or ("val_macro_f1", b) not in searches:
        continue
    gap = pd.DataFrame({split: searches[(f"{split}_macro_f1", a)] - searches[(f"{split}_macro_f1", b)]
                        for split in ("val", "test")}).dropna()
    config = gap.groupby(level=["dataset", "ir", "classifier"])
    print(f"\n{a} minus {b}: best validation Macro-F1 and the test score of that set (seeds paired):")
    print(pd.DataFrame({"val wins": config["val"].apply(lambda d: int((d > 0).sum())),
                        "val ties": config["val"].apply(lambda d: int((d == 0).sum())),
                        "val losses": config["val"].apply(lambda d: int((d < 0).sum())),
                        "mean val gap": config["val"].mean(), "mean test gap": config["test"].mean()})
          .round(4).to_string())
    p = {split: wilcoxon(gap[split], zero_method="wilcox").pvalue for split in ("val", "test")}
    print(f"all {len(gap)} pairs: validation {int((gap['val'] > 0).sum())} wins / {int((gap['val'] == 0).sum())} "
          f"ties / {int((gap['val'] < 0).sum())} losses, mean gap {gap['val'].mean():+.4f} (two-sided Wilcoxon "
          f"p = {p['val']:.3f}); test mean gap {gap['test'].mean():+.4f} (p = {p['test']:.3f})")

curves = frame[frame["sampler"].isin(["AutoSMOTE", *NAMES.values()])].copy()
curves["curve"] = curves["extra"].map(lambda extra: json.loads(extra)["curve"])
checkpoints = [10, 50, 100, 200, 500, 1000]
at = pd.DataFrame([[row.curve[n - 1] for n in checkpoints] for row in curves.itertuples()],
                  index=curves["sampler"], columns=[f"after {n}" for n in checkpoints])
print(f"\nMean best validation Macro-F1 after n episodes ({len(curves) // curves['sampler'].nunique()} searches each):")
print(at.groupby(level=0).mean().round(4).to_string())
