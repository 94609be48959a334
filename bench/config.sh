#!/usr/bin/env bash
# rproxy -c against haproxy -c on a generated configuration of 5,000
# backends of 10 servers each, in the same run: wall time (hyperfine,
# median of several runs) and peak memory (max RSS), with ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
BACKENDS=${BACKENDS:-5000}
SERVERS=${SERVERS:-10}
RUNS=${RUNS:-10}
out=bench/out
mkdir -p "$out"
cfg="$out/config-${BACKENDS}x${SERVERS}.cfg"
python3 bench/gen-config.py "$BACKENDS" "$SERVERS" > "$cfg"
cargo build --release -q
RPROXY=$PWD/target/release/rproxy
HAPROXY=$(command -v haproxy)

median_ms() { # command...
    hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$out/hf.json" -- "$*" >/dev/null 2>&1
    python3 -c 'import json;r=json.load(open("'"$out"'/hf.json"))["results"][0];print(round(r["median"]*1000,1))'
}
max_rss_kb() { # command... → the largest peak RSS of 3 runs, KiB
    local best=0 v
    for _ in 1 2 3; do
        /usr/bin/time -o "$out/rss" -f "%M" "$@" >/dev/null 2>&1 || true
        v=$(tail -1 "$out/rss")
        [ "$v" -gt "$best" ] && best=$v
    done
    echo "$best"
}

h_ms=$(median_ms "$HAPROXY" -c -q -f "$cfg")
r_ms=$(median_ms "$RPROXY" -c -q -f "$cfg")
h_kb=$(max_rss_kb "$HAPROXY" -c -q -f "$cfg")
r_kb=$(max_rss_kb "$RPROXY" -c -q -f "$cfg")

printf '\n-c on %s (%s lines)\n' "$cfg" "$(wc -l < "$cfg")"
printf '%-22s %12s %12s %12s\n' "" haproxy rproxy "rproxy/haproxy"
printf '%-22s %12s %12s %12.2f\n' "wall time (ms, median)" "$h_ms" "$r_ms" "$(python3 -c "print($r_ms/$h_ms)")"
printf '%-22s %12s %12s %12.2f\n' "peak RSS (KiB)" "$h_kb" "$r_kb" "$(python3 -c "print($r_kb/$h_kb)")"
