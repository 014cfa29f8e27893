#!/usr/bin/env bash
# Runs one fuzz target for a while: fuzz/run.sh TARGET [SECONDS] (default 60).
# The corpus grows in fuzz/corpus/TARGET (ignored by git), seeded from fuzz/seeds/TARGET;
# a crash lands in fuzz/artifacts/TARGET/. With FUZZ_NO_BUILD=1 the last build is run as is
# (so editing the crate meanwhile does not trigger rebuilds).
set -euo pipefail
cd "$(dirname "$0")"
target=${1:?usage: fuzz/run.sh TARGET [SECONDS]}
seconds=${2:-60}
triple=$(rustc +nightly -vV | sed -n 's/^host: //p')
if [ -z "${FUZZ_NO_BUILD:-}" ]; then
    cargo +nightly fuzz build "$target"
fi
mkdir -p "corpus/$target" "artifacts/$target"
dict=()
case "$target" in sig_*) dict=(-dict=dict/signatures.dict) ;; esac
exec "target/$triple/release/$target" "corpus/$target" "seeds/$target" "${dict[@]}" \
    -artifact_prefix="artifacts/$target/" -max_total_time="$seconds" -rss_limit_mb=2048 \
    -timeout=10 -print_final_stats=1
