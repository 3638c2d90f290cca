"""A PEP 517 build backend for the harnesssync package, standard library only.

The package is pure Python with no dependencies, so a wheel is a zip of
harnesssync/*.py and three metadata files. Written here (not setuptools) so
that `pip install client/python` needs nothing from a package index.
"""
import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAME = "harnesssync"


def _version():
    with open(os.path.join(HERE, NAME, "__init__.py"), encoding="utf-8") as f:
        return re.search(r'^__version__ = "([^"]+)"', f.read(), re.M).group(1)


def _metadata():
    return ("Metadata-Version: 2.1\nName: %s\nVersion: %s\n"
            "Summary: Python client of harnesssyncd, HarnessSync's state daemon, with a drop-in StateManager\n"
            "License: MIT\nClassifier: License :: OSI Approved :: MIT License\n"
            "Requires-Python: >=3.9\n" % (NAME, _version()))


def _license():
    """The LICENSE text, which MIT says goes with every copy: beside
    pyproject.toml in an sdist, at the top of the source tree otherwise."""
    for path in (os.path.join(HERE, "LICENSE"), os.path.join(HERE, "..", "..", "LICENSE")):
        if os.path.isfile(path):
            with open(path, "rb") as f:
                return f.read()
    raise FileNotFoundError("LICENSE: not beside pyproject.toml nor at the top of the source tree")


def _sources():
    pkg = os.path.join(HERE, NAME)
    for name in sorted(os.listdir(pkg)):
        if name.endswith(".py"):
            yield "%s/%s" % (NAME, name), os.path.join(pkg, name)


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def _write_wheel(wheel_directory, files):
    dist_info = "%s-%s.dist-info" % (NAME, _version())
    wheel_name = "%s-%s-py3-none-any.whl" % (NAME, _version())
    files = list(files) + [
        ("%s/METADATA" % dist_info, _metadata().encode()),
        ("%s/LICENSE" % dist_info, _license()),
        ("%s/WHEEL" % dist_info, b"Wheel-Version: 1.0\nGenerator: harnesssync_build\n"
                                 b"Root-Is-Purelib: true\nTag: py3-none-any\n"),
    ]
    record = []
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel_name), "w", zipfile.ZIP_DEFLATED) as z:
        for arcname, data in files:
            z.writestr(arcname, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append("%s,sha256=%s,%d" % (arcname, digest, len(data)))
        record.append("%s/RECORD,," % dist_info)
        z.writestr("%s/RECORD" % dist_info, "\n".join(record) + "\n")
    return wheel_name


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = []
    for arcname, path in _sources():
        with open(path, "rb") as f:
            files.append((arcname, f.read()))
    return _write_wheel(wheel_directory, files)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    # A .pth file that puts this source dir on sys.path.
    return _write_wheel(wheel_directory, [("%s.pth" % NAME, (HERE + "\n").encode())])


def build_sdist(sdist_directory, config_settings=None):
    base = "%s-%s" % (NAME, _version())
    name = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as t:
        for rel in ["pyproject.toml", "README.md", "_build/harnesssync_build.py"] + [a for a, _ in _sources()]:
            t.add(os.path.join(HERE, rel), arcname="%s/%s" % (base, rel))
        for rel, data in (("PKG-INFO", _metadata().encode()), ("LICENSE", _license())):
            ti = tarfile.TarInfo("%s/%s" % (base, rel))
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    return name
