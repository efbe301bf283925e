#!/usr/bin/env bash
# Prints the speed figures of `deploy-action validate` quoted in the README:
#  1. wall time of validating examples/grupo-gad, against a bare
#     `python3 -c pass` measured in the same run (the floor any Python-based
#     checker pays); the goal is under half of it;
#  2. files per second over the whole real corpus in one process
#     (BenchmarkValidateCorpus).
# Usage: scripts/bench-validate.sh [RUNS]   (default 41 runs each, median shown)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-41}
bin=$(mktemp -d)/deploy-action
go build -trimpath -ldflags='-s -w' -o "$bin" ./cmd/action

# median_ms CMD...: run CMD $runs times, print the median wall time in ms.
median_ms() {
  local times=() s e
  for _ in 1 2 3; do "$@" >/dev/null 2>&1 || true; done # warm the page cache
  for ((i = 0; i < runs; i++)); do
    s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N)
    times+=($(( (e - s) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v n="$runs" 'NR == int((n + 1) / 2) { printf "%.2f", $1 / 1000 }'
}

echo "machine: $(nproc) cores, $(go version | cut -d' ' -f3), $(python3 --version 2>&1)"
v=$(median_ms "$bin" validate --format json examples/grupo-gad)
p=$(median_ms python3 -c pass)
echo "validate examples/grupo-gad: median ${v} ms over ${runs} runs"
echo "python3 -c pass:             median ${p} ms over ${runs} runs"
awk -v v="$v" -v p="$p" 'BEGIN { r = v / p; printf "ratio validate / python3: %.2f (goal < 0.50): %s\n", r, (r < 0.5 ? "met" : "NOT met") }'

echo "whole corpus in one process:"
go test -run '^$' -bench 'BenchmarkValidateCorpus' -benchtime 5x -benchmem ./internal/cmd/validate | grep -E 'Benchmark|files/s'
