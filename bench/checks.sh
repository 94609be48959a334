#!/usr/bin/env bash
# Health-check cost: 1,000 servers checked every second (plain TCP checks,
# then HTTP checks), haproxy and rproxy side by side on the same config;
# CPU time each spends over the same window, as a share of one core.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out; mkdir -p "$out"
N=${N:-1000}
WINDOW=${WINDOW:-20}
cargo build --release -q
RPROXY=$PWD/target/release/rproxy
HAPROXY=$(command -v haproxy)

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# One nginx answers every check; it is not what is measured.
www=$out/www-checks; mkdir -p "$www"; echo ok > "$www/health"
cat > "$out/nginx-checks.conf" <<NGX
daemon off; worker_processes 1; error_log /dev/null; pid $PWD/$out/nginx-checks.pid;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:18180 backlog=4096; root $PWD/$www; } }
NGX
nginx -c "$PWD/$out/nginx-checks.conf" & pids+=($!)
sleep 0.5

gen() { # kind port
    echo "global"
    echo "    maxconn 4000"
    echo "defaults"
    echo "    mode tcp"
    echo "    timeout connect 1s"
    echo "    timeout client 5s"
    echo "    timeout server 5s"
    echo "listen l"
    echo "    bind 127.0.0.1:$2"
    [ "$1" = http ] && echo "    option httpchk GET /health"
    for i in $(seq 1 "$N"); do echo "    server s$i 127.0.0.1:18180 check inter 1s"; done
}

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

measure() { # kind
    gen "$1" 18181 > "$out/checks-haproxy.cfg"
    gen "$1" 18182 > "$out/checks-rproxy.cfg"
    "$HAPROXY" -db -q -f "$out/checks-haproxy.cfg" >/dev/null 2>&1 & local h=$!; pids+=("$h")
    "$RPROXY" -db -q -f "$out/checks-rproxy.cfg" >/dev/null 2>&1 & local r=$!; pids+=("$r")
    sleep 3   # past the start-up spreading of the first checks
    local h0 r0 h1 r1
    h0=$(ticks "$h"); r0=$(ticks "$r")
    sleep "$WINDOW"
    h1=$(ticks "$h"); r1=$(ticks "$r")
    kill "$h" "$r"; wait "$h" "$r" 2>/dev/null || true
    local hz; hz=$(getconf CLK_TCK)
    python3 - "$1" "$h0" "$h1" "$r0" "$r1" "$hz" "$WINDOW" <<'PY'
import sys
kind, h0, h1, r0, r1, hz, w = sys.argv[1], *map(float, sys.argv[2:])
h = (h1 - h0) / hz / w * 100
r = (r1 - r0) / hz / w * 100
ratio = f"{r / h:.2f}" if h > 0 else "-"
print(f"{kind + ' checks':24}{h:>11.2f}%{r:>11.2f}%{ratio:>16}")
PY
}

echo
echo "Health checks: $N servers, inter 1s, CPU over ${WINDOW}s (share of one core)"
printf '%-24s%12s%12s%16s\n' "" haproxy rproxy rproxy/haproxy
measure tcp
measure http
