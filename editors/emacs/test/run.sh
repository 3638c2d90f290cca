#!/usr/bin/env bash
# The Emacs package against a real harnesssyncd (ctest: editor_emacs):
# byte-compiled with warnings as errors, then ERT in `emacs --batch`.
# HS_HSCTL (and the harnesssyncd next to it) come from the build; everything
# else lives in a temp dir under /tmp (the .elc included).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
: "${HS_HSCTL:?HS_HSCTL must name the hsctl to test with}"
if ! command -v emacs >/dev/null; then
  if [ "${CI:-}" = true ]; then echo "editor_emacs: emacs is not installed (apt-get install emacs-nox)" >&2; exit 1; fi
  echo "editor_emacs: SKIPPED: emacs is not installed (apt-get install emacs-nox)"; exit 77
fi
tmp=$(mktemp -d /tmp/hs-emacs.XXXXXX)
export XDG_RUNTIME_DIR=$tmp/run HARNESSSYNC_HOME=$tmp/hs HS_TMP=$tmp HOME=$tmp/home
mkdir -m 700 "$XDG_RUNTIME_DIR" && mkdir "$HOME"
sock=$("$HS_HSCTL" socket-path)
cleanup() {
  "$HS_HSCTL" --no-spawn --timeout 5 shutdown >/dev/null 2>&1 || true
  if [ -s "$sock.lock" ]; then kill "$(cat "$sock.lock")" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

mkdir "$tmp/lisp"
cp "$src/harnesssync.el" "$here/harnesssync-test.el" "$tmp/lisp/"
echo "--- byte-compile, warnings as errors"
emacs --batch -Q -L "$tmp/lisp" --eval '(setq byte-compile-error-on-warn t)' \
  -f batch-byte-compile "$tmp/lisp/harnesssync.el"

export HS_FILE=$tmp/work/AGENTS.md
mkdir -p "$tmp/work" && echo "synced" > "$HS_FILE"
"$HS_HSCTL" record codex --scope all --synced 1 --file "$HS_FILE" >/dev/null
"$HS_HSCTL" shutdown >/dev/null

echo "--- ERT"
emacs --batch -Q -L "$tmp/lisp" -l ert -l "$tmp/lisp/harnesssync.elc" -l "$tmp/lisp/harnesssync-test.el" \
  -f ert-run-tests-batch-and-exit
