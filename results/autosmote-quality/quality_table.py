"""Issue 3 point 5: mean test Macro-F1 over seeds of AutoSMOTE, its random-search ablation and tuned SMOTE."""
import sys
import pandas as pd
from bench import stats
from bench.store import ResultStore

store = ResultStore(sys.argv[1])
best = stats.select_best(store.frame(), "macro_f1")
best["sampler"] = best["sampler"].replace({"AutoSMOTE[ablation=random_search]": "random search"})
table = best.pivot_table(index=["dataset", "ir", "classifier"], columns="sampler", values="score",
                         aggfunc=["mean", "count"])
pd.set_option("display.width", 200)
print(table.round(4).to_string())
means = best.groupby("sampler")["score"].agg(["mean", "count"])
print(means.round(4).to_string())
