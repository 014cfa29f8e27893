#!/usr/bin/env bash
# Benchmarks the Relay path (sender -> Relay over TLS -> Tunnel -> Agent -> Target) against a
# plain hyper forwarding proxy with no capture and against the Target itself, in one run on
# loopback: throughput with 32 connections and a 2.6 KB JSON body, then latency at a steady
# 500 requests/s. Needs oha (cargo install oha) and openssl. Prints a Markdown table.
#   DURATION=10s RATE=500 benches/relay.sh
#   DB_DIR=/dev/shm benches/relay.sh    # databases on tmpfs: takes the disk's fsync out
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
RATE=${RATE:-500}
CONNS=${CONNS:-32}
cargo build --release --quiet --bin hooktap --example relay_bench_peers
BIN=$PWD/target/release/hooktap
PEERS=$PWD/target/release/examples/relay_bench_peers
WORK=$(mktemp -d /tmp/hooktap-bench-relay.XXXXXX)
DB=$(mktemp -d "${DB_DIR:-$WORK}/hooktap-bench-db.XXXXXX")
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK" "$DB"; }
trap cleanup EXIT

# Waits for a line matching $2 in file $1 and prints it.
wait_line() {
  for _ in $(seq 1 200); do
    if grep -m1 -E "$2" "$1" 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "timed out waiting for '$2' in $1:" >&2; cat "$1" >&2; exit 1
}

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -addext "basicConstraints=critical,CA:FALSE" 2>/dev/null
# The load benchmark's body: an Ayrshare scheduled result with 20 posts (2.6 KB).
python3 benches/ayrshare_body.py > "$WORK/body.json"

"$PEERS" target 127.0.0.1:0 > "$WORK/target.out" 2>&1 & PIDS+=($!)
TARGET=$(wait_line "$WORK/target.out" "target on" | awk '{print $3}')
"$PEERS" proxy 127.0.0.1:0 "http://$TARGET" > "$WORK/proxy.out" 2>&1 & PIDS+=($!)
PROXY=$(wait_line "$WORK/proxy.out" "proxy on" | awk '{print $3}')
TOKEN=$("$BIN" relay channel add bench --db "$DB/relay.db" 2>/dev/null)
"$BIN" relay --bind 127.0.0.1:0 --tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem" \
  --db "$DB/relay.db" > "$WORK/relay.out" 2>&1 & PIDS+=($!)
RELAY=$(wait_line "$WORK/relay.out" "listening on https://" | sed 's/.*127.0.0.1://')
HOOKTAP_TOKEN=$TOKEN "$BIN" listen --port 0 --no-tui --forward "http://$TARGET" --db "$DB/agent.db" \
  --relay "https://localhost:$RELAY" --channel bench --relay-ca "$WORK/cert.pem" > "$WORK/agent.out" 2>&1 & PIDS+=($!)
wait_line "$WORK/agent.out" "tunnel connected" > /dev/null
LISTEN=$(wait_line "$WORK/agent.out" "hooktap listening on" | sed 's|.*http://||')

# run NAME URL [extra oha flags...] -> "rps p50_ms p99_ms non2xx"
run() {
  local url=$1; shift
  oha --no-tui --output-format json -m POST -T application/json -D "$WORK/body.json" \
    --cacert "$WORK/cert.pem" "$@" "$url" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); s=d["summary"]; p=d["latencyPercentiles"]
codes=d.get("statusCodeDistribution",{}); bad=sum(v for k,v in codes.items() if not k.startswith("2"))+sum(v for k,v in d.get("errorDistribution",{}).items() if "deadline" not in k)
print("%.0f %.2f %.2f %d" % (s["requestsPerSec"], p["p50"]*1000, p["p99"]*1000, bad))'
}

DIRECT_URL="http://$TARGET/hooks/bench"
PROXY_URL="http://$PROXY/hooks/bench"
LISTEN_URL="http://$LISTEN/hooks/bench"
RELAY_URL="https://localhost:$RELAY/c/bench/hooks/bench"
echo "warming up..." >&2
run "$RELAY_URL" -z 2s -c "$CONNS" > /dev/null
read -r d_rps d_p50 d_p99 d_bad < <(run "$DIRECT_URL" -z "$DURATION" -c "$CONNS")
read -r p_rps p_p50 p_p99 p_bad < <(run "$PROXY_URL" -z "$DURATION" -c "$CONNS")
read -r l_rps l_p50 l_p99 l_bad < <(run "$LISTEN_URL" -z "$DURATION" -c "$CONNS")
read -r r_rps r_p50 r_p99 r_bad < <(run "$RELAY_URL" -z "$DURATION" -c "$CONNS")
read -r dq_rps dq_p50 dq_p99 dq_bad < <(run "$DIRECT_URL" -z "$DURATION" -c "$CONNS" -q "$RATE")
read -r pq_rps pq_p50 pq_p99 pq_bad < <(run "$PROXY_URL" -z "$DURATION" -c "$CONNS" -q "$RATE")
read -r lq_rps lq_p50 lq_p99 lq_bad < <(run "$LISTEN_URL" -z "$DURATION" -c "$CONNS" -q "$RATE")
read -r rq_rps rq_p50 rq_p99 rq_bad < <(run "$RELAY_URL" -z "$DURATION" -c "$CONNS" -q "$RATE")

echo "| path | req/s ($CONNS conns) | p50 ms | p99 ms | non-2xx | p50 ms @ $RATE/s | p99 ms @ $RATE/s |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
echo "| Target direct (HTTP) | $d_rps | $d_p50 | $d_p99 | $((d_bad + dq_bad)) | $dq_p50 | $dq_p99 |"
echo "| plain hyper proxy, no capture (HTTP) | $p_rps | $p_p50 | $p_p99 | $((p_bad + pq_bad)) | $pq_p50 | $pq_p99 |"
echo "| hooktap listen, capture on (HTTP) | $l_rps | $l_p50 | $l_p99 | $((l_bad + lq_bad)) | $lq_p50 | $lq_p99 |"
echo "| Relay + Tunnel + Agent (TLS, FULL sync) | $r_rps | $r_p50 | $r_p99 | $((r_bad + rq_bad)) | $rq_p50 | $rq_p99 |"
python3 -c "print('relay/proxy throughput: %.2f; p99 added over direct at $RATE/s: %.2f ms' % ($r_rps/$p_rps, $rq_p99-$dq_p99))"
echo "relay queue after the run: $("$BIN" relay channel list --db "$DB/relay.db" | awk '$1=="bench"{print $NF}')"
