#!/usr/bin/env bash
# Property-based tests of the sync API from its own OpenAPI document
# (Schemathesis, from PyPI): a real circles-server on a fresh SQLite database,
# one account and a valid token, then generated requests to every operation.
# Fails on any 5xx, any status the document does not list, and any answer
# outside the documented schema.
#
# Needs the debug circles-server built (cargo build --workspace). Called by
# scripts/test.sh; runs alone too.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SCHEMATHESIS_VERSION=4.32.5
venv="${CIRCLES_VENV_DIR:-$HOME/.cache/circles/schemathesis-$SCHEMATHESIS_VERSION}"
server_bin="$target_dir/debug/circles-server"
[ -x "$server_bin" ] || die "$server_bin is missing: run cargo build --workspace first"

if [ ! -x "$venv/bin/st" ]; then
  echo "installing schemathesis $SCHEMATHESIS_VERSION into $venv (PyPI)"
  command -v python3 >/dev/null || die "python3 is needed for schemathesis"
  python3 -m venv "$venv" || die "python3 -m venv failed: install the Debian package python3-venv"
  "$venv/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi

work="$(mktemp -d -t circles-schemathesis.XXXXXX)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

db="$work/server.sqlite"
port=$((20000 + RANDOM % 20000))
base="http://127.0.0.1:$port"
password="schemathesis-password"
CIRCLES_PASSWORD="$password" "$server_bin" --db "$db" user add --email st@example.org --name "Schema Thesis" >/dev/null
# A public URL, so that invitations and the reset page work (without it they are 503 no_public_url).
"$server_bin" --db "$db" serve --listen "127.0.0.1:$port" --public-url "$base" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 50); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "$base/healthz" >/dev/null || { cat "$work/server.log"; die "circles-server did not start"; }

token="$(curl -fsS -H 'content-type: application/json' -H 'circles-protocol: 1' \
  -d "{\"email\":\"st@example.org\",\"password\":\"$password\",\"device_name\":\"schemathesis\",\"device_id\":\"schemathesis-device\"}" \
  "$base/v1/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"

# Schemathesis keeps its cache in the working directory: the run's own.
cd "$work"
# Logout would end the token the rest of the run uses; its answers are
# covered by the API tests (tests/api.rs), which check every response
# against the same document.
"$venv/bin/st" run "$base/openapi.json" \
  --header "Authorization: Bearer $token" \
  --header "circles-protocol: 1" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --exclude-path /v1/logout \
  --phases examples,coverage,fuzzing \
  --max-time "${SCHEMATHESIS_SECONDS:-60}" \
  --workers 2 \
  --suppress-health-check all \
  --no-color || { echo "--- server log"; tail -n 40 "$work/server.log"; die "schemathesis found answers outside openapi.json (above)"; }
