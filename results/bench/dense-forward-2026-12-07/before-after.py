# Medians of scripts/bench-before-after.sh JSONs in DIR as a markdown table: python3 before-after.py DIR
import json,glob,statistics,sys
d=sys.argv[1]
for net in ["784-800-10","784-400-400-10","15C5-P2-40C5-P2-300","32C5-P2-64C5-P2-1024"]:
    row={}
    for w in ["old","new"]:
        js=[json.load(open(f)) for f in sorted(glob.glob(f"{d}/{w}-{net}-*.json"))]
        row[w]=js
    def med(w,key): return statistics.median([j[key] for j in row[w]])
    def medb(w,key): return statistics.median([j["dense_bound"][key] for j in row[w]])
    t_o,t_n=med("old","train_samples_per_sec"),med("new","train_samples_per_sec")
    e_o,e_n=med("old","epoch_samples_per_sec"),med("new","epoch_samples_per_sec")
    per=[n["train_samples_per_sec"]/o["train_samples_per_sec"] for o,n in zip(row["old"],row["new"])]
    print(f"| `{net}` | {len(row['old'])} | {t_o:,.0f} → {t_n:,.0f} | {t_n/t_o:.2f} | {e_o:,.0f} → {e_n:,.0f} | {e_n/e_o:.2f} | {medb('old','samples_per_sec'):,.0f} → {medb('new','samples_per_sec'):,.0f} | {medb('old','train_share')*100:.0f} → {medb('new','train_share')*100:.0f} % | {med('old','infer_latency_us'):.0f} → {med('new','infer_latency_us'):.0f} | {' '.join(f'{p:.2f}' for p in per)} |")
