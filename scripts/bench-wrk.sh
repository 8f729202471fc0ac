#!/usr/bin/env bash
# Loads `doorman serve`, run with its default flags and the demo data, with
# wrk (c=64 over 16 session tokens, GET /api/v1/whoami), then a bare net/http
# handler answering the same bytes, in the same run, alternating ROUNDS
# times (default 5), and prints each ratio and their median. With DB=postgres://… it runs two serve nodes on that database
# (in a fresh schema, dropped at the end) and loads both at once (c=32 each).
#
#   scripts/bench-wrk.sh                      # SQLite, one node
#   DB='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' scripts/bench-wrk.sh
#
# Needs wrk (apt-get install wrk), curl and Go. DURATION (default 10s) per run.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-5}
work=$(mktemp -d)
pids=()
schema=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$schema" ]; then psql "$DB" -qc "SET client_min_messages = warning; DROP SCHEMA $schema CASCADE" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/doorman" ./cmd/doorman
pw=bench-$RANDOM-$RANDOM-pass

ports=(18480)
if [ -n "${DB:-}" ]; then
  schema=doorman_wrk_$RANDOM$RANDOM
  psql "$DB" -qc "CREATE SCHEMA $schema"
  sep='?'; case "$DB" in *\?*) sep='&';; esac
  dsn="$DB${sep}search_path=$schema"
  ports=(18480 18481)
else
  dsn="$work/doorman.db"
fi
for i in "${!ports[@]}"; do
  demo=""; [ "$i" = 0 ] && demo="--demo --demo-password $pw"
  # Default flags otherwise: info-level text log (access log on) to a file.
  "$work/doorman" serve --db "$dsn" --addr "127.0.0.1:${ports[$i]}" $demo >"$work/serve$i.out" 2>"$work/serve$i.log" &
  pids+=($!)
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:${ports[$i]}/readyz" >/dev/null && break; sleep 0.1; done
done

# 16 sessions: 4 of each of 4 demo users (within the sign-in limits).
tokens=()
for email in admin@company.com sarah@company.com mike@company.com guest@agency.com; do
  for _ in 1 2 3 4; do
    tok=$(curl -fs -H 'Content-Type: application/json' -d "{\"email\":\"$email\",\"password\":\"$pw\"}" \
      "http://127.0.0.1:${ports[0]}/api/v1/login" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
    [ -n "$tok" ] || { echo "sign-in as $email failed" >&2; cat "$work/serve0.log" >&2; exit 1; }
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
  echo '  return wrk.format("GET", "/api/v1/whoami", {["Authorization"] = "Bearer " .. tokens[i]})'
  echo 'end'
} >"$work/tokens.lua"

# The bare handler answers the very bytes whoami answers.
curl -fs -H "Authorization: Bearer ${tokens[0]}" "http://127.0.0.1:${ports[0]}/api/v1/whoami" >"$work/body.json"
mkdir -p "$work/bare"
cat >"$work/bare/main.go" <<'GO'
package main

import (
	"net/http"
	"os"
)

func main() {
	body, err := os.ReadFile(os.Args[1])
	if err != nil {
		panic(err)
	}
	http.ListenAndServe(os.Args[2], http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
}
GO
(cd "$work/bare" && go mod init bare >/dev/null 2>&1 && go build -o bare .)
"$work/bare/bare" "$work/body.json" 127.0.0.1:18490 &
pids+=($!)
for _ in $(seq 50); do curl -fs http://127.0.0.1:18490/ >/dev/null && break; sleep 0.1; done
# The port must be the bare handler's: another server left on it would be
# measured in its place.
curl -fs http://127.0.0.1:18490/ | cmp -s - "$work/body.json" || { echo "port 18490 does not answer with the bare handler" >&2; exit 1; }

rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p'; }
store="SQLite, 1 node"
[ -n "${DB:-}" ] && store="PostgreSQL, ${#ports[@]} nodes"
echo "machine: $(nproc) CPUs, $(go version | cut -d' ' -f3), store: $store, wrk -c64 $DURATION per run, $ROUNDS rounds (whoami then bare)"
ratios=()
for r in $(seq "$ROUNDS"); do
  if [ "${#ports[@]}" = 1 ]; then
    wrk -t2 -c64 -d"$DURATION" -s "$work/tokens.lua" "http://127.0.0.1:${ports[0]}" >"$work/who.txt"
    who=$(rps <"$work/who.txt")
  else
    wrk -t1 -c32 -d"$DURATION" -s "$work/tokens.lua" "http://127.0.0.1:${ports[0]}" >"$work/who0.txt" &
    w0=$!
    wrk -t1 -c32 -d"$DURATION" -s "$work/tokens.lua" "http://127.0.0.1:${ports[1]}" >"$work/who1.txt"
    wait $w0
    cat "$work/who0.txt" "$work/who1.txt" >"$work/who.txt"
    who=$(echo "$(rps <"$work/who0.txt") + $(rps <"$work/who1.txt")" | bc)
  fi
  if grep -q 'Non-2xx' "$work/who.txt"; then grep 'Non-2xx' "$work/who.txt" >&2; exit 1; fi
  # The very requests whoami got (tokens, path): only the server differs.
  wrk -t2 -c64 -d"$DURATION" -s "$work/tokens.lua" http://127.0.0.1:18490 >"$work/bare.txt"
  bare=$(rps <"$work/bare.txt")
  ratio=$(echo "scale=2; $who / $bare" | bc)
  ratios+=("$ratio")
  printf 'round %d: whoami %.0f req/s, bare %.0f req/s, ratio %s\n' "$r" "$who" "$bare" "$ratio"
done
printf 'median ratio: %s\n' "$(printf '%s\n' "${ratios[@]}" | sort -n | sed -n "$(( (ROUNDS + 1) / 2 ))p")"
