#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind. CPU time on this
# shared VM moves by 20 % between runs, so two builds cannot be told apart by
# timing them; instruction counts repeat to within about 1 %. This counts user
# space only (no kernel time) and is slow (valgrind: ~50×), so it guides work
# on the code; `npm run bench` remains the measure of speed.
#
#   DATABASE_URL=postgres://… bench/count.sh [get|list|create|patch] [service|baseline]
#
# Migrates the database, then runs the built service (`npm run build` first; the
# flags of start:prod) or the baseline under callgrind twice, serving 3,000 and then 9,000 requests after
# start-up, and prints (I₉₀₀₀ − I₃₀₀₀) / 6,000: the instructions of one request
# once the JIT has warmed up, start-up excluded. V8 runs single-threaded so that
# its background compiler and GC cannot make the count depend on timing.
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:-get}
target=${2:-service}
: "${DATABASE_URL:?set DATABASE_URL to a PostgreSQL database the service may migrate}"
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
node=node_modules/.bin/node
secret=$(head -c 24 /dev/urandom | base64)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ "$target" = service ]; then
  read -r -a prod <<<"$(sed -n 's/.*"start:prod": "node \(.*\)",/\1/p' package.json)"
  script=("${prod[@]:0:${#prod[@]}-1}" --single-threaded "${prod[-1]}")
  ready=/health/ready
else
  script=(--disable-warning=ExperimentalWarning --single-threaded bench/baseline/server.mts)
  ready=/api/v1/tasks
fi

count() { # requests port -> instructions
  local out="$work/callgrind.$1"
  NODE_ENV=production HOST=127.0.0.1 PORT=$2 METRICS_PORT=$(($2 + 1)) JWT_SECRET=$secret DB_MIGRATE_ON_START=false SHUTDOWN_DELAY_MS=0 \
    valgrind --tool=callgrind --smc-check=all-non-file --callgrind-out-file="$out" \
    "$node" "${script[@]}" >/dev/null 2>"$work/valgrind.$1" &
  local pid=$!
  until curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$2$ready" | grep -qE '200|401'; do
    kill -0 $pid 2>/dev/null || { cat "$work/valgrind.$1" >&2; exit 1; }
    sleep 0.5
  done
  "$node" --disable-warning=ExperimentalWarning bench/count-load.mts "$2" "$1" "$scenario" "$secret"
  kill -TERM $pid
  wait $pid || true
  sed -n 's/^summary: //p' "$out"
}

npm run -s migration:up >/dev/null
# The two runs in parallel: valgrind runs each on one core.
port=$((30000 + RANDOM % 20000))
count 3000 $port >"$work/few" &
count 9000 $((port + 1)) >"$work/many"
wait
few=$(cat "$work/few")
many=$(cat "$work/many")
echo "$target $scenario: $(( (many - few) / 6000 )) instructions per request (3,000 requests: $few, 9,000: $many)"
