#!/bin/sh
# ctest's editor_vscode: the extension's model tests (npm test) against the
# real daemon named by HS_DAEMON and HS_HSCTL. node_modules comes from
# `npm ci` (packaging/dev.sh deps and test run it). Outside CI a machine
# without node, npm or node_modules skips (exit 77); in CI (CI=true) that fails.
cd "$(dirname "$0")" || exit 1
missing=""
if ! command -v node >/dev/null 2>&1; then
  missing="node is not installed"
elif ! command -v npm >/dev/null 2>&1; then
  missing="npm is not installed"
elif [ ! -d node_modules/vscode-jsonrpc ] || [ ! -x node_modules/.bin/tsc ]; then
  missing="editors/vscode/node_modules is missing: run packaging/dev.sh deps (npm ci)"
fi
if [ -n "$missing" ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "editor_vscode: FAIL: $missing" >&2
    exit 1
  fi
  echo "editor_vscode: SKIPPED: $missing"
  exit 77
fi
exec npm test --silent
