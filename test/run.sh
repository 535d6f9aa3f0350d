#!/usr/bin/env bash
# `npm test`: peers, type check, lint and format check, then every test file on node:test.
# `bash test/run.sh unit` (`npm run test:unit`) runs only the unit tier, with no peers, type check
# or lint; `bash test/run.sh integration` (`npm run test:integration`) installs the peers and runs
# the rest. test/tiers.ts holds the rule that splits the files.
set -euo pipefail
cd "$(dirname "$0")/.."

tier="${1:-all}"
case "$tier" in
  all | unit | integration) ;;
  *)
    echo "usage: bash test/run.sh [all|unit|integration]" >&2
    exit 2
    ;;
esac

# Runs the files of one tier ("all" for both) on node:test; never an empty list, for Node 20's
# runner would then look for test files itself.
run_tier() {
  local files
  mapfile -t files < <(node --import tsx test/tiers.ts "$1")
  if [ ${#files[@]} -eq 0 ]; then
    echo "no test files found for tier $1" >&2
    exit 1
  fi
  exec node --import tsx --test --test-concurrency=2 --test-reporter=spec "${files[@]}"
}

if [ "$tier" = unit ]; then
  run_tier unit
fi

bash test/install-peers.sh
# The browser tests drive the built web UIs (docs/ui.md, "Build"): rebuilt only when ui/ changed.
node scripts/ensure-ui.mjs
if [ "$tier" = integration ]; then
  run_tier integration
fi

echo "== typecheck" >&2
npx tsc -p tsconfig.json --noEmit
npx tsc -p ui/tsconfig.json --noEmit
echo "== lint" >&2
npx eslint --max-warnings 0 .
echo "== format" >&2
npx prettier --check . >/dev/null || { npx prettier --check . ; exit 1; }

echo "== tests" >&2
# Node 20's test runner takes no globs, so test/tiers.ts lists the files (both tiers); benchmarks
# live in test/bench and run only through `npm run bench`.
run_tier all
