#!/usr/bin/env bash
# Loads a trivial host application (internal/hostapp) with wrk (c=64, the
# request of one signed-in session per connection, SESSIONS sessions in
# all, default 16), alone and then behind the Go middleware checking every
# request against `doorman serve` (default flags, demo data, SQLite) in its
# own process, alternating ROUNDS times (default 5), and prints each ratio
# and their median. Every process shares the machine.
#
#   scripts/bench-middleware.sh
#   SESSIONS=1 scripts/bench-middleware.sh    # every request one session's
#   MIDDLEWARE_FLAGS=-disable-reuse scripts/bench-middleware.sh      # every request asks Doorman
#   MIDDLEWARE_FLAGS=-disable-batching scripts/bench-middleware.sh   # one GET /auth/verify per check
#
#   PERF_OUT=/tmp/host.perf ROUNDS=1 scripts/bench-middleware.sh   # also perf-records the host application
#
# Needs wrk, curl and Go (and perf for PERF_OUT). DURATION (default 10s) per run.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-5}
SESSIONS=${SESSIONS:-16}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/doorman" ./cmd/doorman
go build -o "$work/hostapp" ./internal/hostapp
pw=bench-$RANDOM-$RANDOM-pass
"$work/doorman" serve --db "$work/doorman.db" --addr 127.0.0.1:18460 --demo --demo-password "$pw" >"$work/serve.out" 2>"$work/serve.log" &
pids+=($!)
for _ in $(seq 100); do curl -fs http://127.0.0.1:18460/readyz >/dev/null && break; sleep 0.1; done

tokens=()
for email in admin@company.com sarah@company.com mike@company.com guest@agency.com; do
  for _ in 1 2 3 4; do
    [ "${#tokens[@]}" -lt "$SESSIONS" ] || break
    tok=$(curl -fs -H 'Content-Type: application/json' -d "{\"email\":\"$email\",\"password\":\"$pw\"}" \
      http://127.0.0.1:18460/api/v1/login | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
    [ -n "$tok" ] || { echo "sign-in as $email failed" >&2; exit 1; }
    tokens+=("$tok")
  done
done
{
  echo 'local tokens = {'
  for t in "${tokens[@]}"; do echo "  \"$t\","; done
  echo '}'
  echo 'local i = 0'
  echo 'request = function()'
  echo '  i = i % #tokens + 1'
  echo '  return wrk.format("GET", "/reports", {["Authorization"] = "Bearer " .. tokens[i]})'
  echo 'end'
} >"$work/tokens.lua"

run() { # run NAME [hostapp flags]: wrk against the host application started with those flags
  "$work/hostapp" -addr 127.0.0.1:18470 "${@:2}" &
  local p=$!
  for _ in $(seq 50); do curl -fs -H "Authorization: Bearer ${tokens[0]}" http://127.0.0.1:18470/ >/dev/null && break; sleep 0.1; done
  curl -fs -H "Authorization: Bearer ${tokens[0]}" http://127.0.0.1:18470/ | grep -qx ok || { echo "$1: the host application does not answer ok" >&2; kill $p; exit 1; }
  [ -z "${PERF_OUT:-}" ] || [ "$1" != middleware ] || (sleep 2; perf record -F 999 -g -p $p -o "$PERF_OUT" -- sleep 6 >/dev/null 2>&1) &
  wrk -t2 -c64 -d"$DURATION" -s "$work/tokens.lua" http://127.0.0.1:18470 >"$work/$1.txt"
  kill $p; wait $p 2>/dev/null || true
  if grep -q 'Non-2xx' "$work/$1.txt"; then grep 'Non-2xx' "$work/$1.txt" >&2; exit 1; fi
  sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$work/$1.txt"
}
echo "machine: $(nproc) CPUs, $(go version | cut -d' ' -f3), doorman serve (SQLite, default flags), wrk -c64 $DURATION per run over $SESSIONS sessions, $ROUNDS rounds, middleware flags: ${MIDDLEWARE_FLAGS:-none}"
# checked: the session validations Doorman has made so far (/metrics).
checked() {
  curl -fs http://127.0.0.1:18460/metrics | awk '/^doorman_session_validations_total/ {n += $2} END {printf "%d", n}'
}
ratios=()
for r in $(seq "$ROUNDS"); do
  before=$(checked)
  # shellcheck disable=SC2086 # the flags are words
  mw=$(run middleware -doorman http://127.0.0.1:18460 ${MIDDLEWARE_FLAGS:-})
  asked=$(( $(checked) - before ))
  bare=$(run bare)
  ratio=$(echo "scale=2; $mw / $bare" | bc)
  ratios+=("$ratio")
  printf 'round %d: behind the middleware %.0f req/s (Doorman checked %d), bare %.0f req/s, ratio %s\n' "$r" "$mw" "$asked" "$bare" "$ratio"
done
printf 'median ratio: %s\n' "$(printf '%s\n' "${ratios[@]}" | sort -n | sed -n "$(( (ROUNDS + 1) / 2 ))p")"
