#!/usr/bin/env bash
# harnesssync from a clean checkout on Debian 12: installs what is missing,
# builds, and runs the daemon or the tests.
#
#   packaging/dev.sh run [ARGS]  install deps, build, start harnesssyncd in the
#                           foreground (ARGS go to harnesssyncd, e.g. --state-dir)
#   packaging/dev.sh test   install deps, build with g++, with g++ on the
#                           fallbacks, and with clang+ASan/UBSan, run the whole
#                           test suite under each, check the .deb, and fuzz
#                           the wire parsers for a minute
#   packaging/dev.sh deb    install deps, build, make the .deb (build/harnesssync_*.deb)
#   packaging/dev.sh deps   only install the Debian packages (and the VS Code
#                           extension's npm packages)
#
# Environment: BUILD_DIR (default build), JOBS (default nproc), TEST_JOBS (default
# 2 x JOBS), FUZZ_SECONDS (default 60).
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
# Tests run two per core: most of their time is spent waiting (on a daemon's
# settle and poll periods, on timeouts that must expire), not computing.
TEST_JOBS=${TEST_JOBS:-$((JOBS * 2))}

# Debian 12 packages. Boost must be the versioned 1.81 packages: the
# unversioned libboost-*-dev are 1.74, which lacks Boost.JSON.
PACKAGES=(
  g++ clang-14 libclang-rt-14-dev cmake ninja-build pkg-config
  libboost1.81-dev libboost-json1.81-dev libsodium-dev libssl-dev catch2 libcli11-dev
  systemd dpkg-dev file
  coreutils python3 python3-pytest socat netcat-openbsd
  neovim emacs-nox tmux
)

# Each line carries the seconds since the script started, so a CI log shows
# where its time went (CI must stay under 30 minutes).
log() { printf '==> [%4ds] %s\n' "$SECONDS" "$*" >&2; }

install_deps() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "all build dependencies are installed"
    return
  fi
  log "installing: ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "dev.sh: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# The editor plugins of the installed .deb: in place, and found by Debian's
# own nvim and emacs with no set-up (an empty HOME: no user config).
check_deb_editors() {
  local home=$1
  local pack=/usr/share/nvim/site/pack/harnesssync/start/harnesssync
  local lisp=/usr/share/emacs/site-lisp/harnesssync/harnesssync.el
  local f
  for f in "$pack/lua/harnesssync/init.lua" "$pack/lua/harnesssync/conn.lua" "$pack/plugin/harnesssync.lua" \
           "$pack/doc/harnesssync.txt" "$pack/doc/tags" "$lisp"; do
    [ -f "$f" ] || { echo "dev.sh: the .deb does not install $f" >&2; return 1; }
  done
  local out
  out=$(cd / && HOME=$home nvim --headless -i NONE -n \
        -c 'lua local ok = pcall(require, "harnesssync"); local help = pcall(vim.cmd, "help harnesssync")
            io.stdout:write(string.format("require=%s help=%s cmd=%d from=%s\n", ok, help, vim.fn.exists(":HarnessSync"),
              vim.api.nvim_get_runtime_file("lua/harnesssync/init.lua", false)[1] or "?"))' -c 'qall!' 2>&1)
  grep -q "require=true help=true cmd=2 from=$pack/lua/harnesssync/init.lua" <<<"$out" \
    || { echo "dev.sh: nvim does not load the installed plugin: $out" >&2; return 1; }
  out=$(cd / && HOME=$home emacs --batch --eval '(progn (require (quote harnesssync)) (princ (format "from=%s mode=%s\n" (locate-library "harnesssync.el") (fboundp (quote harnesssync-mode)))))' 2>&1)
  grep -q "from=$lisp mode=t" <<<"$out" \
    || { echo "dev.sh: emacs cannot (require 'harnesssync) from $lisp: $out" >&2; return 1; }
  log ".deb: nvim and emacs load the installed plugins"
}

# The VS Code extension's npm packages, from editors/vscode/package-lock.json.
# npm ci starts from scratch each time, so it is skipped while node_modules
# matches the lock file. Without npm the extension's test skips (CI: fails).
npm_deps() {
  local dir=editors/vscode
  if ! command -v npm >/dev/null 2>&1; then
    log "npm is not installed: the VS Code extension is not built or tested"
    return
  fi
  if cmp -s "$dir/package-lock.json" "$dir/node_modules/.hs-lock"; then
    log "the VS Code extension's npm packages are installed"
    return
  fi
  log "npm ci in $dir"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$dir/package-lock.json" "$dir/node_modules/.hs-lock"
}

# The VS Code extension as a .vsix (vsce needs no network for this).
package_vsix() {
  local dir=editors/vscode
  if [ ! -d "$dir/node_modules" ]; then
    [ "${CI:-}" != true ] || { echo "dev.sh: no npm, so no .vsix" >&2; return 1; }
    log "no npm packages: skipping the .vsix"
    return
  fi
  local out
  out="$(cd "$BUILD_DIR" && pwd)/harnesssync-vscode.vsix"
  (cd "$dir" && npm run --silent build \
     && npx --no-install vsce package --allow-missing-repository --out "$out" >/dev/null)
  python3 - "$out" <<'PY'
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
need = {"extension/package.json", "extension/LICENSE.txt", "extension/out/extension.js", "extension/out/model.js",
        "extension/node_modules/vscode-jsonrpc/node.js"}
missing = need - names
sys.exit("dev.sh: the .vsix lacks " + ", ".join(sorted(missing)) if missing else 0)
PY
  log "built $out"
}

# The .deb from the g++ build: install it, run both binaries, check the
# installed units, remove it, and check that a user's state dir survives.
# Needs root (CI runs as root); skipped otherwise.
check_deb() {
  local dir=$1
  (cd "$dir" && cpack -G DEB >/dev/null)
  local deb
  deb=$(ls "$dir"/harnesssync_*.deb)
  log "built $deb"
  local depends
  depends=$(dpkg-deb --info "$deb" | sed -n '/Depends/p')
  echo "$depends"
  # The daemon speaks systemd's protocols itself (daemon/service_manager.cpp).
  if grep -q libsystemd <<<"$depends"; then echo "dev.sh: the .deb depends on libsystemd" >&2; return 1; fi
  if [ "$(id -u)" -ne 0 ]; then
    log "not root: skipping the dpkg -i check of $deb"
    return
  fi
  local home
  home=$(mktemp -d /tmp/hs-deb-home.XXXXXX)
  trap 'dpkg --purge harnesssync >/dev/null 2>&1 || true; rm -rf "$home"' RETURN
  dpkg -i "$deb"
  hsctl --version
  harnesssyncd --version
  # The Python package, where Debian's python3 finds it.
  (cd / && /usr/bin/python3 -c 'import harnesssync; print("harnesssync", harnesssync.__version__, harnesssync.__file__)') \
    | grep -q ' /usr/lib/python3/dist-packages/harnesssync/' || { echo "dev.sh: the .deb's harnesssync Python package is not importable" >&2; return 1; }
  check_deb_editors "$home" || return 1
  local xdg
  xdg=$(mktemp -d) && chmod 700 "$xdg"
  local out
  out=$(XDG_RUNTIME_DIR=$xdg systemd-analyze verify --user /usr/lib/systemd/user/harnesssyncd.service \
        /usr/lib/systemd/user/harnesssyncd.socket 2>&1) || { echo "$out"; return 1; }
  if grep -qiE "unknown|warning|not executable" <<<"$out"; then echo "$out"; return 1; fi
  rm -rf "$xdg"
  # A user's state, made by the installed binaries, must outlive the package.
  HOME=$home HARNESSSYNC_SOCKET=$home/hs.sock hsctl record codex --scope all >/dev/null
  HOME=$home HARNESSSYNC_SOCKET=$home/hs.sock hsctl shutdown >/dev/null
  dpkg -r harnesssync
  dpkg --purge harnesssync
  [ -f "$home/.harnesssync/state.json" ] || { echo "dev.sh: removing the package removed a state dir" >&2; return 1; }
  [ ! -e /usr/bin/hsctl ] || { echo "dev.sh: /usr/bin/hsctl still there after dpkg -r" >&2; return 1; }
  [ ! -e /usr/share/nvim/site/pack/harnesssync ] || { echo "dev.sh: the Neovim plugin is still there after dpkg -r" >&2; return 1; }
  log ".deb: installs, runs, verifies and removes cleanly; state dirs untouched"
}

# configure_and_build DIR [cmake args...]
configure_and_build() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -G Ninja "$@"
  cmake --build "$dir" -j "$JOBS"
}

run_tests() {
  local dir=$1
  ctest --test-dir "$dir" -j "$TEST_JOBS" --output-on-failure --timeout 600
}


cmd=${1:-}
case "$cmd" in
  deps)
    install_deps
    npm_deps
    ;;
  run)
    install_deps
    configure_and_build "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo
    shift
    log "starting harnesssyncd (Ctrl-C stops it)"
    exec "$BUILD_DIR/bin/harnesssyncd" "$@"
    ;;
  test)
    install_deps
    npm_deps
    log "g++ build, warnings as errors"
    configure_and_build "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHS_WERROR=ON \
      -DCMAKE_CXX_COMPILER=g++ -DCMAKE_INSTALL_PREFIX=/usr
    run_tests "$BUILD_DIR"
    log "the .deb"
    check_deb "$BUILD_DIR"
    log "the VS Code extension's .vsix"
    package_vsix
    # The fallbacks, all at once, so that the whole suite runs on them:
    # libsodium's SHA-256 (HS_WITH_OPENSSL=OFF) and the POSIX stand-ins for
    # inotify, memfd, renameat2, SO_PEERCRED and pidfd (HS_PORTABLE:
    # docs/ARCHITECTURE.md, "Platforms"). Debug (unoptimised, asserts on), no
    # sanitizers: the ASan build below covers the code that both share, and
    # CI time matters: g++ at -O2 -g took 11.5 of this build's 12 minutes,
    # at -O0 about half of that.
    log "g++ build on the fallbacks (HS_PORTABLE, libsodium's SHA-256), warnings as errors"
    configure_and_build "$BUILD_DIR-portable" -DCMAKE_BUILD_TYPE=Debug -DHS_WERROR=ON \
      -DCMAKE_CXX_COMPILER=g++ -DHS_PORTABLE=ON -DHS_WITH_OPENSSL=OFF
    run_tests "$BUILD_DIR-portable"
    log "clang-14 build with ASan+UBSan, warnings as errors"
    # The torture test runs in the two builds above; here its 40 s of serial
    # time bought no sanitizer report in any run so far, and CI must stay
    # under 30 minutes (configure with -DHS_TORTURE_IN_CI=ON to run it here).
    configure_and_build "$BUILD_DIR-asan" -DCMAKE_BUILD_TYPE=Debug -DHS_WERROR=ON -DHS_SANITIZE=ON \
      -DCMAKE_CXX_COMPILER=clang++-14 -DHS_TORTURE_IN_CI=OFF
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      run_tests "$BUILD_DIR-asan"
    log "libFuzzer: ${FUZZ_SECONDS:-60} s on the wire (framing, JSON-RPC, params)"
    cmake -S . -B "$BUILD_DIR-fuzz" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHS_FUZZ=ON \
      -DHS_BUILD_TESTS=OFF -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null
    cmake --build "$BUILD_DIR-fuzz" -j "$JOBS" --target hs_fuzz_wire
    corpus=$(mktemp -d /tmp/hs-fuzz.XXXXXX)
    cp tests/fuzz/corpus/* "$corpus/"
    "$BUILD_DIR-fuzz/bin/hs_fuzz_wire" -max_total_time="${FUZZ_SECONDS:-60}" -print_final_stats=1 \
      -artifact_prefix="$corpus/" "$corpus" 2>&1 | grep -E "DONE|ERROR|SUMMARY|stat::number_of_executed_units" \
      || true
    if ls "$corpus"/crash-* "$corpus"/leak-* "$corpus"/timeout-* >/dev/null 2>&1; then
      echo "dev.sh: the fuzzer found a failing input:" "$corpus"/crash-* "$corpus"/leak-* "$corpus"/timeout-* >&2
      exit 1
    fi
    rm -rf "$corpus"
    log "all tests passed under g++, g++ on the fallbacks, and clang+ASan/UBSan"
    ;;
  deb)
    install_deps
    configure_and_build "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr
    (cd "$BUILD_DIR" && cpack -G DEB)
    ;;
  *)
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
