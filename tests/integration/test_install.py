"""cmake --install puts everything in place, and a tiny consumer project
builds against the installed tree (find_package and pkg-config) and talks
to a live daemon."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import Client

ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("HS_BUILD_DIR", os.path.join(ROOT, "build"))

pytestmark = pytest.mark.skipif(os.environ.get("HS_SANITIZED") == "1",
                                reason="the installed tree of a sanitizer build needs sanitizer link flags")


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    pfx = str(tmp_path_factory.mktemp("prefix"))
    subprocess.run(["cmake", "--install", BUILD, "--prefix", pfx], check=True, capture_output=True)
    return pfx


def installed(prefix):
    out = set()
    for dirpath, _, files in os.walk(prefix):
        for f in files:
            out.add(os.path.relpath(os.path.join(dirpath, f), prefix))
    return out


def test_install_tree(prefix):
    files = installed(prefix)
    libdir = next(os.path.dirname(f) for f in files if f.endswith("libharnesssync-client.a"))
    for f in ["bin/harnesssyncd", "bin/hsctl", "include/harnesssync/client.hpp",
              libdir + "/libharnesssync-client.a", libdir + "/cmake/HarnessSync/HarnessSyncConfig.cmake",
              libdir + "/pkgconfig/harnesssync-client.pc", "lib/systemd/user/harnesssyncd.service",
              "lib/systemd/user/harnesssyncd.socket", "share/man/man1/hsctl.1", "share/man/man8/harnesssyncd.8",
              "share/bash-completion/completions/hsctl", "share/zsh/vendor-completions/_hsctl",
              "share/harnesssync/launchd/com.harnesssync.harnesssyncd.plist", "share/doc/harnesssync/copyright"]:
        assert f in files, f
    r = subprocess.run([os.path.join(prefix, "bin", "hsctl"), "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("hsctl ")
    # The public headers need nothing of ours beyond themselves (no common/,
    # no Asio): each includes only the standard library, Boost.JSON, and
    # its installed siblings.
    headers = sorted(f for f in files if f.startswith("include/harnesssync/"))
    assert "include/harnesssync/client.hpp" in headers and len(headers) > 1, headers
    for h in headers:
        with open(os.path.join(prefix, h)) as f:
            text = f.read()
        assert "asio" not in text and '#include "' not in text, h
        for inc in re.findall(r"#include <([^>]+)>", text):
            assert "/" not in inc or inc.startswith(("boost/json/", "harnesssync/")), (h, inc)
            if inc.startswith("harnesssync/"):
                assert "include/" + inc in files, (h, inc)


def test_completions_and_man_pages_parse(prefix):
    r = subprocess.run(["bash", "-n", os.path.join(prefix, "share/bash-completion/completions/hsctl")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(["bash", "-c", "source %s; complete -p hsctl" % os.path.join(prefix, "share/bash-completion/completions/hsctl")],
                       capture_output=True, text=True)
    assert "_hsctl" in r.stdout
    for page in ["share/man/man1/hsctl.1", "share/man/man8/harnesssyncd.8"]:
        with open(os.path.join(prefix, page)) as f:
            text = f.read()
        assert text.startswith(".TH ") and ".SH EXIT STATUS" in text


def run_consumer(binary, prefix, tmp):
    sock, state = os.path.join(tmp, "hs.sock"), os.path.join(tmp, "state")
    env = dict(os.environ, PATH=os.path.join(prefix, "bin") + ":" + os.environ["PATH"])
    try:
        r = subprocess.run([binary, sock, state], capture_output=True, text=True, env=env, timeout=60)
        assert r.returncode == 0, r.stderr
        assert "status=success removed=1" in r.stdout
        return r.stdout
    finally:
        try:
            Client(sock).call("daemon.shutdown")
        except OSError:
            pass


def test_consumer_with_find_package(prefix, tmp):
    build = os.path.join(tmp, "build")
    subprocess.run(["cmake", "-S", os.path.join(ROOT, "tests/consumer"), "-B", build, "-DCMAKE_PREFIX_PATH=" + prefix],
                   check=True, capture_output=True)
    r = subprocess.run(["cmake", "--build", build], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    out = run_consumer(os.path.join(build, "consumer"), prefix, tmp)
    assert "started_daemon=1" in out  # the installed harnesssyncd, found on PATH


def test_consumer_with_pkg_config(prefix, tmp):
    libdir = next(os.path.dirname(os.path.join(prefix, f)) for f in installed(prefix)
                  if f.endswith("pkgconfig/harnesssync-client.pc"))
    env = dict(os.environ, PKG_CONFIG_PATH=libdir)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "harnesssync-client"], capture_output=True,
                           text=True, env=env, check=True).stdout.split()
    binary = os.path.join(tmp, "consumer_pc")
    r = subprocess.run(["c++", os.path.join(ROOT, "tests/consumer/main.cpp"), *flags, "-o", binary],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    run_consumer(binary, prefix, tmp)
