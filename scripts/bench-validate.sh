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

bench=$(dirname "$bin")/benchcmd
go build -o "$bench" ./scripts/benchcmd

# The interpreter itself, not a version-manager shim (pyenv's shim is a
# shell script that alone costs hundreds of milliseconds).
py=$(python3 -c 'import sys; print(sys.executable)')
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(go version | cut -d' ' -f3), $("$py" --version 2>&1) at $py"
{ read -r vw vc; read -r pw pc; read -r tw tc; } < <("$bench" -n "$runs" -- \
  "$bin" validate --format json examples/grupo-gad :: "$py" -c pass :: true)
echo "validate examples/grupo-gad: median wall ${vw} ms, CPU ${vc} ms over ${runs} runs"
echo "python3 -c pass:             median wall ${pw} ms, CPU ${pc} ms (runs interleaved with validate's)"
echo "true (process floor):        median wall ${tw} ms, CPU ${tc} ms"
awk -v vw="$vw" -v pw="$pw" -v vc="$vc" -v pc="$pc" 'BEGIN {
  printf "ratio validate / python3: wall %.2f, CPU %.2f (goal < 0.50): %s\n", vw / pw, (pc > 0 ? vc / pc : 0), (vw / pw < 0.5 ? "met" : "NOT met") }'

echo "whole corpus in one process:"
go test -run '^$' -bench 'BenchmarkValidateCorpus' -benchtime 5x -benchmem ./internal/cmd/validate | grep -E 'Benchmark|files/s'
