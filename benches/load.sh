#!/usr/bin/env bash
# Forwarding-path load benchmark, all in one run on this machine:
#   direct        oha -> bench_target
#   plain proxy   oha -> plain_proxy (hyper, no capture) -> bench_target
#   hooktap       oha -> hooktap listen --no-tui (capture on) -> bench_target
#   mitmdump      oha -> mitmdump --mode reverse -> bench_target   (only if mitmdump is installed)
# Closed loop: 32 connections, 2 KB JSON POST. Then p99 latency at a steady 1,000 requests/s,
# direct vs hooktap. CPU per request is the process's utime+stime (/proc/PID/stat) divided by the
# requests it served. Needs `oha` (cargo install oha). Prints a Markdown table.
#   DURATION=10s ROUNDS=2 benches/load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-2}
CONNS=${CONNS:-32}
command -v oha >/dev/null || { echo "benches/load.sh needs oha: cargo install oha" >&2; exit 1; }

cargo build --release --quiet --bin hooktap --example bench_target --example plain_proxy
bin=target/release
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# The webhook body: an Ayrshare scheduled result with 20 posts (2.6 KB).
python3 benches/ayrshare_body.py > "$work/body.json"

start() { # start NAME CMD... ; sets ADDR and PID from the first stdout line
    "${@:2}" > "$work/$1.out" 2> "$work/$1.err" &
    PID=$!; pids+=("$PID")
    for _ in $(seq 100); do
        ADDR=$(head -1 "$work/$1.out" 2>/dev/null || true)
        [ -z "$ADDR" ] && ADDR=$(grep -o 'listening on http://[0-9.:]*' "$work/$1.err" 2>/dev/null | sed 's|.*http://||' || true)
        [ -n "$ADDR" ] && return 0
        sleep 0.1
    done
    echo "could not start $1: $(cat "$work/$1.err")" >&2; exit 1
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# load NAME URL PID -> "rps cpu_us_per_request"
load() {
    oha -z 2s -c "$CONNS" -m POST -D "$work/body.json" -T application/json --no-tui "$2" > /dev/null 2>&1 || true
    local before after
    before=$(cpu_ticks "$3")
    oha -z "$DURATION" -c "$CONNS" -m POST -D "$work/body.json" -T application/json --no-tui --output-format json "$2" > "$work/$1.json"
    after=$(cpu_ticks "$3")
    python3 - "$work/$1.json" "$before" "$after" "$hz" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ok = sum(v for k, v in r["statusCodeDistribution"].items() if k.startswith("2"))
rps = ok / r["summary"]["total"]
cpu_us = (int(sys.argv[3]) - int(sys.argv[2])) / int(sys.argv[4]) * 1e6 / max(ok, 1)
print(f"{rps:.0f} {cpu_us:.1f}")
PY
}

# p99 NAME URL -> p99 ms at a steady 1,000 requests/s
p99() {
    oha -z "$DURATION" -q 1000 -c "$CONNS" -m POST -D "$work/body.json" -T application/json --no-tui --output-format json "$2" > "$work/$1-q.json"
    python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(f\"{r['latencyPercentiles']['p99']*1000:.3f}\")" "$work/$1-q.json"
}

start target "$bin/examples/bench_target"; TARGET=$ADDR; TARGET_PID=$PID
start plain "$bin/examples/plain_proxy" "$TARGET"; PLAIN=$ADDR; PLAIN_PID=$PID
start hooktap "$bin/hooktap" listen --port 0 --no-tui --db "$work/events.db" --forward "http://$TARGET"; HOOKTAP=$ADDR; HOOKTAP_PID=$PID
MITM=""
if command -v mitmdump >/dev/null; then
    mport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    mitmdump --mode "reverse:http://$TARGET" --listen-host 127.0.0.1 --listen-port "$mport" -q > "$work/mitm.out" 2>&1 &
    MITM_PID=$!; pids+=("$MITM_PID")
    for _ in $(seq 100); do nc -z 127.0.0.1 "$mport" 2>/dev/null && break; sleep 0.2; done
    MITM="127.0.0.1:$mport"
fi

echo "| round | path | requests/s | CPU µs/request (proxy process) |"
echo "| --- | --- | ---: | ---: |"
for round in $(seq "$ROUNDS"); do
    read -r d_rps _ <<< "$(load direct "http://$TARGET/hooks/bench" "$TARGET_PID")"
    read -r p_rps p_cpu <<< "$(load plain "http://$PLAIN/hooks/bench" "$PLAIN_PID")"
    read -r h_rps h_cpu <<< "$(load hooktap "http://$HOOKTAP/hooks/bench" "$HOOKTAP_PID")"
    echo "| $round | direct to Target | $d_rps | |"
    echo "| $round | plain hyper proxy | $p_rps | $p_cpu |"
    echo "| $round | hooktap (capture on) | $h_rps ($(python3 -c "print(f'{$h_rps/$p_rps*100:.0f}')")% of plain) | $h_cpu ($(python3 -c "print(f'{$h_cpu/$p_cpu:.2f}')")x plain) |"
    if [ -n "$MITM" ]; then
        read -r m_rps m_cpu <<< "$(load mitm "http://$MITM/hooks/bench" "$MITM_PID")"
        echo "| $round | mitmdump reverse | $m_rps | $m_cpu |"
    fi
done
echo
d99=$(p99 direct "http://$TARGET/hooks/bench")
h99=$(p99 hooktap "http://$HOOKTAP/hooks/bench")
echo "| at 1,000 requests/s | p99 latency |"
echo "| --- | ---: |"
echo "| direct to Target | ${d99} ms |"
echo "| through hooktap | ${h99} ms (+$(python3 -c "print(f'{$h99-$d99:.3f}')") ms) |"
echo
echo "Events stored by hooktap in this run: $(sqlite3 "$work/events.db" 'select count(*) from events' 2>/dev/null || "$bin/hooktap" list --db "$work/events.db" --json --limit 1 | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["id"])')"
