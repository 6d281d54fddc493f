#!/usr/bin/env bash
# API contract check: runs schemathesis against the OpenAPI document the API itself serves
# (/openapi.json), on a throwaway embedded stack (Temporal dev server, PGlite, worker, API) with
# free ports and its own data dir, so it never touches data/ or a running `npm start`.
#
# Usage: bash scripts/api-contract.sh [extra schemathesis run options…]
#   e.g.  bash scripts/api-contract.sh --max-failures 1
#         bash scripts/api-contract.sh --continue-on-failure     (every failure, not the first per operation)
# Env:   CONTRACT_MAX_EXAMPLES (default 50 per operation), CONTRACT_SEED (default 1; 'random' for none),
#        CONTRACT_WORKERS (default 1: with 2, Python 3.11's ast.parse breaks under hypothesis' threads and
#        operations end in "Runtime Error: AST constructor recursion depth mismatch"),
#        CONTRACT_REPORT_DIR (default .tools/contract-report, git-ignored: junit.xml, the stack's stack.log and
#        schemathesis' .schemathesis/ cache, which it writes to its working directory),
#        CONTRACT_KEEP_DATA=1 keeps the throwaway data dir (PGlite, outbox) for inspection.
# Exit:  schemathesis' exit code (0: no failures), or 2 when the stack does not come up.
#
# schemathesis comes from PyPI into .tools/contract-venv; the version is pinned here and nowhere else.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5

# Every check runs but these two (the README says the same):
# - positive_data_acceptance: Chime refuses schema-valid input that is wrong in meaning, with a 400
#   naming the field — an unknown IANA zone, a rule with no DTSTART, a cursor it did not issue, a
#   template that does not exist or does not parse, a default locale missing from `locales`.
#   JSON Schema cannot say these; the check counts each such 400 as a failure.
# - unsupported_method: Fastify answers 404, not 405, to a method no route declares on a known path
#   (TRACE, QUERY); nothing is served either way.
EXCLUDED_CHECKS=positive_data_acceptance,unsupported_method

MAX_EXAMPLES="${CONTRACT_MAX_EXAMPLES:-50}"
SEED="${CONTRACT_SEED:-1}"
WORKERS="${CONTRACT_WORKERS:-1}"
REPORT_DIR="${CONTRACT_REPORT_DIR:-.tools/contract-report}"
READY_TIMEOUT_S=120

venv=.tools/contract-venv
# Records which pin the venv was filled with, so bumping SCHEMATHESIS_VERSION reinstalls.
stamp="$venv/chime-pins.txt"
pins="schemathesis==$SCHEMATHESIS_VERSION"
if [[ ! -x "$venv/bin/schemathesis" || "$(cat "$stamp" 2>/dev/null)" != "$pins" ]]; then
  python=$(command -v python3 || command -v python || true)
  if [[ -z "$python" ]]; then
    echo "api-contract: Python 3 with venv is needed (Debian: apt-get install python3 python3-venv)" >&2
    exit 2
  fi
  [[ -x "$venv/bin/pip" ]] || "$python" -m venv "$venv"
  echo "api-contract: pip install $pins" >&2
  "$venv/bin/pip" install --disable-pip-version-check --quiet "$pins"
  printf '%s' "$pins" >"$stamp"
fi

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

data_dir=$(mktemp -d "${TMPDIR:-/tmp}/chime-contract.XXXXXX")
api_port=$(free_port)
temporal_port=$(free_port)
ui_port=$(free_port)
log="$data_dir/stack.log"
stack_pid=""
stack_up=""
st_pid=""

stop_stack() {
  local rc=$?
  if [[ -n "$st_pid" ]] && kill -0 "$st_pid" 2>/dev/null; then kill -TERM "$st_pid" 2>/dev/null || true; wait "$st_pid" 2>/dev/null || true; fi
  if [[ -n "$stack_pid" ]] && kill -0 "$stack_pid" 2>/dev/null; then
    kill -TERM "$stack_pid" 2>/dev/null || true
    # start.ts stops API, worker, storage, then the Temporal server; give it 30 s, then force.
    for _ in $(seq 1 60); do kill -0 "$stack_pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$stack_pid" 2>/dev/null; then
      pkill -KILL -P "$stack_pid" 2>/dev/null || true
      kill -KILL "$stack_pid" 2>/dev/null || true
    fi
    wait "$stack_pid" 2>/dev/null || true
  fi
  if [[ -z "$stack_up" && -f "$log" ]]; then
    echo "api-contract: last lines of the stack log:" >&2
    tail -n 30 "$log" >&2 || true
  fi
  if [[ -f "$log" ]]; then mkdir -p "$REPORT_DIR" && cp "$log" "$REPORT_DIR/stack.log" || true; fi
  if [[ -n "${CONTRACT_KEEP_DATA:-}" ]]; then echo "api-contract: kept $data_dir" >&2; else rm -rf "$data_dir"; fi
}
trap stop_stack EXIT
trap 'exit 130' INT TERM

echo "api-contract: starting the embedded stack (API :$api_port, Temporal :$temporal_port, UI :$ui_port, data $data_dir)" >&2
# Nothing leaves the machine (no SMTP/Twilio: local sinks), the database is PGlite, Temporal is the
# dev server; the limits are raised so the fuzzer's request rate is not answered with 429s.
env -u DATABASE_URL -u TEMPORAL_ADDRESS -u SMTP_URL -u TWILIO_ACCOUNT_SID \
  CHIME_DATA_DIR="$data_dir" CHIME_API_HOST=127.0.0.1 CHIME_API_PORT="$api_port" \
  TEMPORAL_PORT="$temporal_port" TEMPORAL_UI_PORT="$ui_port" \
  CHIME_RATE_LIMIT_PER_MINUTE=1000000 CHIME_AUTH_FAILURES_PER_MINUTE=1000000 CHIME_LOG_LEVEL=warn \
  CHIME_WORKER_METRICS_ADDRESS= TEMPORAL_METRICS_ADDRESS= \
  node --import tsx src/entry/start.ts >"$log" 2>&1 &
stack_pid=$!

base="http://127.0.0.1:$api_port"
deadline=$((SECONDS + READY_TIMEOUT_S))
until [[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/ready" || true)" == 200 ]]; do
  if ! kill -0 "$stack_pid" 2>/dev/null; then
    echo "api-contract: the stack exited before $base/ready answered 200" >&2
    exit 2
  fi
  if ((SECONDS >= deadline)); then
    echo "api-contract: $base/ready did not answer 200 within ${READY_TIMEOUT_S}s" >&2
    exit 2
  fi
  sleep 1
done
key_file="$data_dir/admin-api-key"
for _ in $(seq 1 20); do [[ -s "$key_file" ]] && break; sleep 0.5; done
[[ -s "$key_file" ]] || { echo "api-contract: no admin API key in $key_file" >&2; exit 2; }
key=$(tr -d '[:space:]' <"$key_file")
stack_up=1
echo "api-contract: stack ready after ${SECONDS}s" >&2

mkdir -p "$REPORT_DIR"
REPORT_DIR=$(cd "$REPORT_DIR" && pwd)
rm -f "$REPORT_DIR/junit.xml" "$REPORT_DIR/stack.log"
seed_args=()
[[ "$SEED" == random ]] || seed_args=(--seed "$SEED")
set +e
# Run from the report dir so schemathesis' .schemathesis/ cache lands there, not in the work tree.
# The key is not echoed; schemathesis masks Authorization in its own output.
st="$PWD/$venv/bin/schemathesis"
(cd "$REPORT_DIR" && exec "$st" run "$base/openapi.json" \
  --checks all \
  --exclude-checks "$EXCLUDED_CHECKS" \
  --header "Authorization: Bearer $key" \
  --max-examples "$MAX_EXAMPLES" \
  "${seed_args[@]}" \
  --workers "$WORKERS" \
  --request-timeout 30 \
  --generation-database none \
  --report junit --report-junit-path "$REPORT_DIR/junit.xml" \
  --no-color \
  "$@") &
# In the background and waited for, so Ctrl-C or a CI cancel reaches the traps at once.
st_pid=$!
wait "$st_pid"
status=$?
st_pid=""
set -e
echo "api-contract: schemathesis exited $status after ${SECONDS}s; reports in $REPORT_DIR" >&2
exit "$status"
