#!/usr/bin/env bash
# The Emacs package against a real harnesssyncd (ctest: editor_emacs):
# byte-compiled with warnings as errors, then ERT in `emacs --batch`.
# HS_HSCTL (and the harnesssyncd next to it) come from the build; everything
# else lives in a temp dir under /tmp (the .elc included).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
. "$(dirname "$src")/test_env.sh"
hs_editor_test_env editor_emacs emacs emacs-nox
export HOME=$tmp/home
mkdir "$HOME"

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
