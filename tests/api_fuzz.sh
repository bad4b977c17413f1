#!/usr/bin/env bash
# API fuzz: schemathesis (from PyPI) generates requests from the
# daemon's own OpenAPI document (/openapi.json) and checks every answer:
# no 5xx (not_a_server_error), every status documented
# (status_code_conformance), the documented content type
# (content_type_conformance) and body schema (response_schema_conformance).
#
# It starts the debug build (target/debug/hallq, built by `cargo test`) on
# the demo hall with simulated devices in a fresh data directory, signs in,
# and runs schemathesis once per caller: a kiosk key, window staff (w05, who
# staffs window 5), the manager, the admin, and last the sessions routes
# with a token of their own (signing out ends the token used). Each run has
# a time budget (API_FUZZ_SECONDS per run, default 30; the whole script
# takes about 3 minutes on 2 cores, plus ~10 s to build its venv the first
# time, under target/schemathesis-venv, from tests/api_fuzz_requirements.txt
# (schemathesis and its dependencies pinned), reused while that file is
# unchanged). API_FUZZ_SEED (default 7) varies the generated cases.
#
# The event streams (/api/v1/events, /api/v1/sim/events,
# /api/v1/public/tickets/{id}/events) are left out: an open stream never
# ends, so every request would time out; tests/api_sse.rs and
# tests/api_public.rs cover them.
#
# Intentional answers are documented, not disabled: the demo hall's rate
# limits (tickets: 120/min per client address, burst 20; sign-ins: 20/min,
# burst 10) give 429s once a run has spent its burst; a repeated
# Idempotency-Key gets the first answer (200 with "replayed": true);
# refusals of the hall are 409/422 with the JSON error.
#
# It cannot pass vacuously: each run must have made a minimum number of
# requests and had 2xx answers from a minimum number of operations (so a
# token that does not work, answered 401 everywhere, fails it), and
# at the end the daemon must still answer GET /healthz and, once stopped
# with SIGTERM, `hallq verify` must pass on its journal. On a failure it
# prints schemathesis's report (with a curl command per failing case) and
# the end of the daemon's log, and exits non-zero. Each run's report and HAR
# file (every request and answer) stay in target/api-fuzz/CALLER/.
set -euo pipefail
cd "$(dirname "$0")/.."

requirements=tests/api_fuzz_requirements.txt
version="$(sed -n 's/^schemathesis==//p' "$requirements")"
seconds="${API_FUZZ_SECONDS:-30}"
seed="${API_FUZZ_SEED:-7}"
target_root="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
hallq="$target_root/debug/hallq"
venv="$target_root/schemathesis-venv"
reports="$target_root/api-fuzz"
started=$(date +%s)

if [ ! -x "$hallq" ]; then
    echo "api_fuzz: $hallq is missing; run cargo build (or cargo test) first" >&2
    exit 1
fi
# The venv is rebuilt when the pinned list changes (its copy is the stamp).
if ! cmp -s "$requirements" "$venv/requirements.txt" || ! [ -x "$venv/bin/schemathesis" ]; then
    echo "api_fuzz: installing schemathesis $version into $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$venv/requirements.txt"
fi

work="$(mktemp -d)"
pid=""
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

daemon_log() {
    echo "api_fuzz: the end of the daemon's log:" >&2
    tail -n 60 "$work/stderr" >&2 || true
}

"$hallq" serve --listen 127.0.0.1:0 --data "$work/data" --quiet-sim >"$work/stdout" 2>"$work/stderr" &
pid=$!
base=""
for _ in $(seq 1 600); do
    base="$(sed -n 's/^hallq listening on \(http:\/\/[^ ]*\).*/\1/p' "$work/stdout" | head -n 1)"
    [ -n "$base" ] && break
    if ! kill -0 "$pid" 2>/dev/null; then
        break
    fi
    sleep 0.1
done
if [ -z "$base" ]; then
    echo "api_fuzz: the daemon did not start" >&2
    daemon_log
    exit 1
fi
curl -sS --fail-with-body --max-time 10 "$base/openapi.json" >"$work/openapi.json"
echo "api_fuzz: daemon at $base (pid $pid), schemathesis $version, $seconds s per caller"

# POST /api/v1/sessions; prints the token.
sign_in() {
    curl -sS --fail-with-body -X POST "$base/api/v1/sessions" \
        -H 'Content-Type: application/json' \
        -d "{\"account\":\"$1\",\"password\":\"$2\"}" |
        "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}

# One schemathesis run as one caller: $1 = a name, $2 = the bearer token,
# $3 = the fewest requests and $4 the fewest operations answering 2xx that
# count as a real run, then extra schemathesis options (filters). Its HAR
# report (every request and answer) is counted by tests/api_fuzz_count.py.
failed=()
fuzz() {
    local name="$1" token="$2" min_requests="$3" min_ok="$4"
    shift 4
    local out="$reports/$name"
    rm -rf "$out"
    mkdir -p "$out"
    local rc=0
    "$venv/bin/schemathesis" run "$base/openapi.json" \
        --header "Authorization: Bearer $token" \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
        --exclude-path-regex '/events$' \
        --phases examples,coverage,fuzzing \
        --max-time "$seconds" \
        --workers 1 \
        --request-timeout 20 \
        --seed "$seed" \
        --report har --report-har-path "$out/requests.har" \
        "$@" >"$out/report.txt" 2>&1 || rc=$?
    local counted
    if ! counted="$("$venv/bin/python" tests/api_fuzz_count.py "$out/requests.har" "$work/openapi.json" "$min_requests" "$min_ok")"; then
        rc=1
    fi
    echo "api_fuzz: $name: $counted, schemathesis exit $rc"
    if [ "$rc" != 0 ]; then
        cat "$out/report.txt"
        failed+=("$name")
    fi
}

# Sign in first: the fuzzing spends the sign-in rate limit's burst.
kiosk=demo-kiosk
staff="$(sign_in w05 demo)"
manager="$(sign_in manager demo)"
admin="$(sign_in admin demo)"
sessions="$(sign_in admin demo)"

# Signing out (DELETE /api/v1/sessions) would end the run's own token: only
# the last run, with a token of its own, signs in and out.
keep_token=(--exclude-path /api/v1/sessions)
# A kiosk may issue tickets and read one; w05 reads and works window 5; the
# manager runs the hall; the admin reads the record and resets passwords.
fuzz kiosk "$kiosk" 500 3 "${keep_token[@]}"
fuzz staff "$staff" 500 8 "${keep_token[@]}"
fuzz manager "$manager" 500 15 "${keep_token[@]}"
fuzz admin "$admin" 500 12 "${keep_token[@]}"
fuzz sessions "$sessions" 300 1 --include-path-regex '^/api/v1/(sessions|accounts/)'

if ! curl -sS --fail-with-body --max-time 10 "$base/healthz" >"$work/healthz" 2>&1; then
    echo "api_fuzz: GET /healthz failed after the fuzzing:" >&2
    cat "$work/healthz" >&2
    failed+=(healthz)
fi
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
if [ "$rc" != 0 ]; then
    echo "api_fuzz: the daemon exited with $rc on SIGTERM" >&2
    failed+=(sigterm)
fi
# A panic in a handler or task shows in the log even when the answer got out.
if grep -n 'panicked' "$work/stderr" >&2; then
    echo "api_fuzz: the daemon panicked (above)" >&2
    failed+=(panic)
fi
if ! "$hallq" verify --data "$work/data" >"$work/verify" 2>&1; then
    echo "api_fuzz: hallq verify failed:" >&2
    cat "$work/verify" >&2
    failed+=(verify)
fi
if ((${#failed[@]})); then
    daemon_log
    echo "api_fuzz: FAILED: ${failed[*]} ($(($(date +%s) - started)) s)" >&2
    exit 1
fi
echo "api_fuzz: ok in $(($(date +%s) - started)) s"
