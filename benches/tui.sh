#!/usr/bin/env bash
# Terminal UI benchmarks on a large Store, driven in tmux the way a person would use it:
#   open      `hooktap ui` until the newest Event is on screen (process start to screen), RSS
#   scroll    5,000 x `j`, 500 x PgDn, `G` (oldest), `g`: time until the screen settles, peak RSS
#   search    a text search that reads every body (no match), and typing while it runs
#   live      `hooktap listen` with the UI on this Store at 1,000 requests/s (oha -q 1000) against
#             the same with --no-tui: p99 latency, CPU per request, what the screen counted
# Usage: benches/tui.sh STORE [PARTS]   (PARTS: any of "open scroll search live"; default all)
#   (a Store of a million Events: cargo run --release --example gen_store -- /tmp/1m.db 1000000)
# The live part adds about 20,000 Events to STORE. Needs tmux and oha (cargo install oha).
set -euo pipefail
cd "$(dirname "$0")/.."
STORE=${1:?usage: benches/tui.sh STORE [PARTS]}
PARTS=${2:-open scroll search live}
want() { [[ " $PARTS " == *" $1 "* ]]; }
command -v tmux >/dev/null || { echo "benches/tui.sh needs tmux" >&2; exit 1; }
command -v oha >/dev/null || { echo "benches/tui.sh needs oha: cargo install oha" >&2; exit 1; }
cargo build --release --quiet --bin hooktap --example bench_target
bin=$PWD/target/release
work=$(mktemp -d)
sock="hooktap-bench-$$"
t() { tmux -L "$sock" "$@"; }
pids=()
cleanup() { t kill-server 2>/dev/null || true; kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
export XDG_DATA_HOME=$work/data HOOKTAP_LOG=hooktap::tui=debug
now_ms() { date +%s%3N; }
screen() { t capture-pane -p -t b; }
# wait_for REGEX [SECONDS] [POLL]: until the screen matches (polling costs CPU: long waits poll
# slowly so the poll does not slow what it measures)
wait_for() {
    local deadline=$(( $(now_ms) + ${2:-60} * 1000 ))
    until screen | grep -Eq -- "$1"; do
        [ "$(now_ms)" -lt "$deadline" ] || { echo "timed out waiting for $1" >&2; screen >&2; exit 1; }
        sleep "${3:-0.005}"
    done
}
# shown: the id of the Event in the detail pane
shown() { screen | grep -Eo '#[0-9]+  1 Sum' | head -1 | sed -E 's/#([0-9]+) .*/\1/'; }
# at ID: until the detail pane shows Event ID
at() { wait_for "#$1  1 Sum" "${2:-60}"; }
rss() { awk '/VmRSS/ {r=$2} /VmHWM/ {h=$2} END {printf "%.1f MiB (peak %.1f MiB)", r/1024, h/1024}' "/proc/$1/status"; }
pane_pid() { t display -p -t b '#{pane_pid}'; }

echo "Store: $STORE ($("$bin/hooktap" list --db "$STORE" --json --limit 1 | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["id"])') Events, newest id)"
newest=$("$bin/hooktap" list --db "$STORE" --json --limit 1 | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["id"])')

if want open || want scroll || want search; then
# open
start=$(now_ms)
t new-session -d -s b -x 160 -y 45 "exec $bin/hooktap ui --db '$STORE'"
wait_for " $newest "
opened=$(( $(now_ms) - start ))
pid=$(pane_pid)
wait_for "^ Events [0-9,]+ " 10
echo "open: first row on screen ${opened} ms after start (tmux included); RSS $(rss "$pid")"

if want scroll; then
# (in bursts: a pty takes about 2 KiB of typed input at once)
start=$(now_ms); for _ in 1 2 3 4 5; do t send-keys -t b -N 1000 j; done; at $((newest - 5000))
echo "5,000 x j: $(( $(now_ms) - start )) ms; RSS $(rss "$pid")"
t send-keys -t b PageDown; sleep 0.5; page=$(( newest - 5000 - $(shown) ))
start=$(now_ms); for _ in 1 2 3 4 5; do t send-keys -t b -N 100 PageDown; done; at $((newest - 5000 - 501 * page))
echo "500 x PgDn ($page rows each): $(( $(now_ms) - start )) ms; RSS $(rss "$pid")"
start=$(now_ms); t send-keys -t b G; at 1 30
echo "G (oldest): $(( $(now_ms) - start )) ms; RSS $(rss "$pid")"
start=$(now_ms); t send-keys -t b g; at "$newest" 30
echo "g (newest): $(( $(now_ms) - start )) ms"
fi

if want search; then
# The same search through `list` first (it also warms the page cache for the UI's).
start=$(now_ms); "$bin/hooktap" list --db "$STORE" zzzznotthere > /dev/null
echo "hooktap list zzzznotthere (for comparison): $(( $(now_ms) - start )) ms"
start=$(now_ms); t send-keys -t b / zzzznotther
wait_for "searching" 10
t send-keys -t b q; typed=$(now_ms); wait_for "^/ zzzznottherq" 10
echo "typing during the search: on screen after $(( $(now_ms) - typed )) ms"
last=$(now_ms); t send-keys -t b BSpace e; wait_for "No Events match" 120 0.1
echo "text search of every body (no match): $(( $(now_ms) - last )) ms from the last key ($(( $(now_ms) - start )) ms from the first); RSS $(rss "$pid")"
t send-keys -t b Escape; sleep 0.2
fi
t send-keys -t b q
sleep 0.5
grep -h "first frame\|frames, draw" "$XDG_DATA_HOME/hooktap/hooktap.log" | sed 's/^/  log: /' || true
fi

if want live; then
# live
"$bin/examples/bench_target" > "$work/target.out" 2>&1 & pids+=($!)
for _ in $(seq 100); do target=$(head -1 "$work/target.out" 2>/dev/null || true); [ -n "$target" ] && break; sleep 0.05; done
python3 -c 'print("{\"action\":\"social\",\"type\":\"unlink\",\"platform\":\"instagram\",\"hookId\":\"hkBench\",\"pad\":\"" + "x"*1900 + "\"}")' > "$work/body.json"
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
live() { # live NAME PID URL
    oha -z 2s -q 1000 -c 32 -m POST -D "$work/body.json" -T application/json --no-tui "$3" > /dev/null 2>&1 || true
    local before after
    before=$(cpu "$2")
    oha -z 10s -q 1000 -c 32 -m POST -D "$work/body.json" -T application/json --no-tui --output-format json "$3" > "$work/$1.json"
    after=$(cpu "$2")
    python3 - "$work/$1.json" "$before" "$after" "$hz" "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ok = sum(v for k, v in r["statusCodeDistribution"].items() if k.startswith("2"))
cpu = (int(sys.argv[3]) - int(sys.argv[2])) / int(sys.argv[4]) * 1e6 / max(ok, 1)
print(f"{sys.argv[5]}: {ok} answered 2xx, p50 {r['latencyPercentiles']['p50']*1000:.3f} ms, "
      f"p99 {r['latencyPercentiles']['p99']*1000:.3f} ms, CPU {cpu:.0f} µs/request")
PY
}
t new-session -d -s b -x 160 -y 45 "exec $bin/hooktap listen --port 0 --db '$STORE' --forward 'http://$target'"
wait_for "http://127.0.0.1:[0-9]+" 30
port=$(screen | grep -Eo 'http://127.0.0.1:[0-9]+' | head -1 | sed 's/.*://')
pid=$(pane_pid)
live "listen with the UI" "$pid" "http://127.0.0.1:$port/hooks/ayrshare"
echo "  screen: $(screen | grep -Eo 'received [0-9,]+ +ok [0-9,]+ +failed [0-9,]+ +in flight [0-9]+ +[0-9.]+/s')"
echo "  RSS $(rss "$pid")"
t send-keys -t b q; sleep 1
grep -h "fell behind" "$XDG_DATA_HOME/hooktap/hooktap.log" | tail -3 | sed 's/^/  log: /' || true
"$bin/hooktap" listen --port 0 --no-tui --db "$STORE" --forward "http://$target" > /dev/null 2> "$work/plain.err" & pids+=($!)
plain=$!
for _ in $(seq 100); do addr=$(grep -o 'listening on http://[0-9.:]*' "$work/plain.err" 2>/dev/null | sed 's|.*http://||' || true); [ -n "$addr" ] && break; sleep 0.05; done
live "listen --no-tui     " "$plain" "http://$addr/hooks/ayrshare"
fi
