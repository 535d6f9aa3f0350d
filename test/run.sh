#!/usr/bin/env bash
# `npm test`: peers, type check, lint and format check, then every test file on node:test.
set -euo pipefail
cd "$(dirname "$0")/.."

bash test/install-peers.sh

echo "== typecheck" >&2
npx tsc -p tsconfig.json --noEmit
echo "== lint" >&2
npx eslint --max-warnings 0 .
echo "== format" >&2
npx prettier --check . >/dev/null || { npx prettier --check . ; exit 1; }

echo "== tests" >&2
# Node 20's test runner takes no globs, so list the files here; benchmarks live in test/bench
# and run only through `npm run bench`.
mapfile -t files < <(find test -name '*.test.ts' -not -path 'test/bench/*' | sort)
if [ ${#files[@]} -eq 0 ]; then
  echo "no test files found" >&2
  exit 1
fi
exec node --import tsx --test --test-concurrency=2 --test-reporter=spec "${files[@]}"
