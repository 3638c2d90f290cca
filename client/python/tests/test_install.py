"""Packaging: `cmake --install` puts the package where the system Python
looks (and it starts the daemon installed with it); `pip install` works
offline with nothing to fetch."""
import os
import subprocess
import sys

import pytest

from conftest import PKG_DIR

BUILD = os.environ.get("HS_BUILD_DIR")


@pytest.mark.skipif(not BUILD, reason="needs HS_BUILD_DIR (run through ctest)")
def test_cmake_install_ships_the_package_and_finds_its_daemon(env, tmp):
    prefix = os.path.join(tmp, "prefix")
    subprocess.run(["cmake", "--install", BUILD, "--prefix", prefix], check=True, capture_output=True)
    rel = os.environ["HS_PYTHON_INSTALL_DIR"]
    site = rel if os.path.isabs(rel) else os.path.join(prefix, rel)
    for f in ("__init__.py", "client.py", "state_manager.py", "_install.py"):
        assert os.path.isfile(os.path.join(site, "harnesssync", f)), f
    code = ("import os, harnesssync\n"
            "sm = harnesssync.StateManager()\n"
            "sm.record_sync('codex', 'all', {}, {}, 1, 0, 0)\n"
            "pid = sm._connected().info()['pid']\n"
            "print(harnesssync.__file__)\n"
            "print(os.path.realpath('/proc/%d/exe' % pid))\n")
    child_env = {k: v for k, v in os.environ.items() if k not in ("HARNESSSYNC_DAEMON", "PYTHONPATH")}
    child_env.update(PYTHONPATH=site, PATH="/nonexistent")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=child_env,
                         cwd="/")
    assert out.returncode == 0, out.stderr
    pkg_file, exe = out.stdout.split("\n")[:2]
    assert pkg_file.startswith(site)
    assert exe == os.path.realpath(os.path.join(prefix, "bin", "harnesssyncd"))


def test_pip_install_offline(tmp):
    target = os.path.join(tmp, "site")
    out = subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--no-deps", "--quiet",
                          "--disable-pip-version-check", "--target", target, PKG_DIR],
                         capture_output=True, text=True, timeout=300, env=dict(os.environ, PIP_NO_INPUT="1"))
    if out.returncode != 0 and "No module named pip" in out.stderr:
        pytest.skip("pip is not installed")
    assert out.returncode == 0, out.stderr
    check = subprocess.run([sys.executable, "-c", "import harnesssync, sys; print(harnesssync.__file__, "
                            "harnesssync.StateManager.__name__)"], capture_output=True, text=True,
                           env=dict(os.environ, PYTHONPATH=target), cwd="/")
    assert check.returncode == 0 and check.stdout.startswith(os.path.join(target, "harnesssync")), check.stderr
    dist_info = os.path.join(target, "harnesssync-0.1.0.dist-info")
    assert os.path.isdir(dist_info)
    with open(os.path.join(dist_info, "METADATA")) as f:
        assert "\nLicense: MIT\n" in f.read()
    with open(os.path.join(dist_info, "LICENSE")) as f, open(os.path.join(PKG_DIR, "..", "..", "LICENSE")) as want:
        assert f.read() == want.read()
