#!/usr/bin/env bash
# Prints the container action's figures quoted in the README:
#  1. the size of the action binary built with the Dockerfile's flags
#     (CGO_ENABLED=0, -trimpath, -ldflags '-s -w'); budget 20 MB;
#  2. the time from process start to the first log line in GitHub mode
#     (GITHUB_ACTIONS=true, no arguments, as the ENTRYPOINT starts it), and
#     to the end of a whole `validate` of examples/grupo-gad, against `true`
#     measured in the same run; budget: first line under 100 ms.
# Usage: scripts/bench-action.sh [RUNS]   (default 41 runs each, median shown)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-41}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags='-s -w' -o "$tmp/deploy-action" ./cmd/action
go build -o "$tmp/firstline" ./scripts/firstline
go build -o "$tmp/benchcmd" ./scripts/benchcmd
size=$(stat -c %s "$tmp/deploy-action")

# A workspace as the runner mounts it, no token: nothing leaves the machine.
cp -r examples/grupo-gad "$tmp/ws"
export GITHUB_ACTIONS=true GITHUB_WORKSPACE="$tmp/ws" INPUT_COMMAND=validate
read -r first whole < <(cd "$tmp/ws" && "$tmp/firstline" -n "$runs" -- "$tmp/deploy-action")
read -r tw _ < <("$tmp/benchcmd" -n "$runs" -- true)

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(go version | cut -d' ' -f3)"
awk -v s="$size" 'BEGIN { printf "stripped action binary: %.1f MB (budget 20 MB): %s\n", s / 1048576, (s <= 20 * 1048576 ? "met" : "NOT met") }'
echo "GitHub mode, start to first log line: median ${first} ms over ${runs} runs"
echo "GitHub mode, whole validate of examples/grupo-gad: median ${whole} ms"
echo "true (process floor), start to exit: median ${tw} ms"
awk -v f="$first" -v t="$tw" 'BEGIN { printf "first log line / true: %.1fx; budget 100 ms: %s\n", (t > 0 ? f / t : 0), (f < 100 ? "met" : "NOT met") }'
