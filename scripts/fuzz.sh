#!/usr/bin/env bash
# Coverage-guided fuzzing of mtsnn's parsers with AFL++ (through cargo-afl, which scripts/setup.sh
# installs); the targets and their seeds are in fuzz/ (fuzz/README.md).
#   scripts/fuzz.sh smoke                   every target for 15 s (CI)
#   scripts/fuzz.sh long SECONDS [TARGET…]  the given targets (default: all) for SECONDS each
# The targets run side by side, each with its seed corpus (fuzz/corpus/TARGET) and dictionary
# (fuzz/dict), a memory limit (FUZZ_MEM_MB, default 2048 MB of address space) and a time limit per
# input (2 s; 20 s for images, whose decoding time grows with their size, up to 4096×4096 pixels, in
# this instrumented build). Findings and statistics go to fuzz/out/TARGET. Prints a table (executions,
# coverage, crashes, hangs, and the peak memory of the target over every input of its final corpus)
# and fails when any input crashed or hung a target: those inputs are under
# fuzz/out/TARGET/default/{crashes,hangs}.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

all=(checkpoint web_model netspec idx cifar image)
mode=${1:-smoke}
case "$mode" in
    smoke) seconds=15; targets=("${all[@]}") ;;
    long)
        seconds=${2:?usage: scripts/fuzz.sh long SECONDS [TARGET…]}
        shift 2
        targets=("${@:-${all[@]}}")
        ;;
    *) echo "usage: scripts/fuzz.sh smoke | long SECONDS [TARGET…]" >&2; exit 2 ;;
esac
mem=${FUZZ_MEM_MB:-2048}
target_dir=target/afl
out=fuzz/out

echo "== fuzz: building the targets (cargo afl build)"
cargo afl build --release --manifest-path fuzz/Cargo.toml --target-dir "$target_dir" --bins

# Several fuzzers on few cores: no pinning; no core-dump handler or CPU-governor checks (CI).
export AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
[[ "$mode" == smoke ]] && export AFL_FAST_CAL=1

pids=()
for t in "${targets[@]}"; do
    dict=fuzz/dict/$t.dict
    [[ "$t" == web_model ]] && dict=fuzz/dict/checkpoint.dict
    dict_args=()
    [[ -f "$dict" ]] && dict_args=(-x "$dict")
    timeout_ms=2000
    [[ "$t" == image ]] && timeout_ms=20000
    rm -rf "${out:?}/$t"
    mkdir -p "$out/$t"
    echo "== fuzz: $t for $seconds s"
    cargo afl fuzz -i "fuzz/corpus/$t" -o "$out/$t" -m "$mem" -t "$timeout_ms" -V "$seconds" \
        "${dict_args[@]}" -- "$target_dir/release/$t" >"$out/$t/afl.log" 2>&1 &
    pids+=($!)
done
failed=0
for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then
        echo "fuzz: afl-fuzz failed on ${targets[$i]}; the end of $out/${targets[$i]}/afl.log:" >&2
        tail -n 20 "$out/${targets[$i]}/afl.log" >&2
        failed=1
    fi
done

# One line per target from AFL's fuzzer_stats; findings are files other than README.txt; the peak
# memory is GNU time's maximum resident set of the target run once on each input of its corpus.
stat() { sed -n "s/^$1 *: *//p" "$out/$2/default/fuzzer_stats"; }
found() { find "$out/$1/default/$2" -type f ! -name README.txt 2>/dev/null | wc -l; }
printf '%-11s %8s %12s %10s %9s %8s %13s %14s\n' target seconds executions exec/s coverage edges crashes/hangs "peak RSS (MB)"
for t in "${targets[@]}"; do
    [[ -f "$out/$t/default/fuzzer_stats" ]] || { failed=1; continue; }
    peak_kb=0
    for f in "$out/$t/default/queue"/id*; do
        kb=$(/usr/bin/time -f %M timeout 60 "$target_dir/release/$t" <"$f" 2>&1 >/dev/null | tail -n 1) || true
        if [[ "$kb" =~ ^[0-9]+$ && "$kb" -gt "$peak_kb" ]]; then
            peak_kb=$kb
        fi
    done
    crashes=$(found "$t" crashes)
    hangs=$(found "$t" hangs)
    printf '%-11s %8s %12s %10s %9s %8s %13s %14s\n' "$t" "$(stat run_time "$t")" "$(stat execs_done "$t")" \
        "$(stat execs_per_sec "$t")" "$(stat bitmap_cvg "$t")" "$(stat edges_found "$t")" \
        "$crashes/$hangs" "$((peak_kb / 1024))"
    if [[ "$crashes" -gt 0 || "$hangs" -gt 0 ]]; then
        echo "fuzz: $t: inputs that crash or hang it are in $out/$t/default/{crashes,hangs}" >&2
        failed=1
    fi
done
exit "$failed"
