# The FashionMNIST CNN's sittings pooled: every run of fmnist-cnn-{before,after}-*.json, medians of
# each side and of the per-run ratios:  python3 pool.py  (from this folder)
import glob, json, statistics

for side in ["before", "after"]:
    ms, ss, rs = [], [], []
    for f in sorted(glob.glob(f"fmnist-cnn-{side}-*.json")):
        for run in json.load(open(f))["runs"]:
            ms += run["mtsnn"]
            ss += run["sinabs"]
            rs += [a / b for a, b in zip(run["mtsnn"], run["sinabs"])]
    print(f"{side}: {len(ms)} runs, mtsnn {statistics.median(ms):.0f}, Sinabs {statistics.median(ss):.0f}, "
          f"ratio of medians {statistics.median(ms) / statistics.median(ss):.2f}, "
          f"median of per-run ratios {statistics.median(rs):.2f}")
