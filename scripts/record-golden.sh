#!/usr/bin/env bash
# Records the golden fixtures (fixtures/golden/<scenario>.json) that sdk-tests/tests/sdk/golden.rs
# replays: runs every conformance scenario with --record against a fresh emulator (the default),
# or against the endpoint in AWS_ENDPOINT_URL_SOCIALMESSAGING with EXTRA flags
# (e.g. `--allow-real --all` for the real service; the credentials come from the environment).
#
# Usage: scripts/record-golden.sh [EXTRA_CONFORMANCE_FLAGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
out=fixtures/golden
[[ -n "${NO_BUILD:-}" ]] || cargo build -q -p eum-social-emulator -p eum-social-conformance
bin="${CARGO_TARGET_DIR:-target}/debug"
rm -rf "$out.new"
if [[ -z "${AWS_ENDPOINT_URL_SOCIALMESSAGING:-}" ]]; then
  log=$(mktemp)
  "$bin/eum-social" --port 0 2>"$log" &
  pid=$!
  trap 'kill "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
  for _ in $(seq 1 100); do
    url=$(sed -n 's/^READY //p' "$log" | head -n1)
    [[ -n "$url" ]] && break
    sleep 0.1
  done
  [[ -n "${url:-}" ]] || { echo "the emulator did not start" >&2; cat "$log" >&2; exit 1; }
  export AWS_ENDPOINT_URL_SOCIALMESSAGING="$url"
  export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=809904170947 AWS_SECRET_ACCESS_KEY=golden
fi
"$bin/eum-social-conformance" --record "$out.new" "$@"
rm -rf "$out" && mv "$out.new" "$out"
echo "golden fixtures in $out"
