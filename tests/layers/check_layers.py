#!/usr/bin/env python3
"""Every #include of a project header goes down the layers, never up.

The layers, lowest first, are LAYERS below (docs/ARCHITECTURE.md draws
them). What each layer may use is what its CMakeLists.txt declares with
target_link_libraries (hs_<layer> names): the same table the link check
(cmake/layer_check.cmake) enforces on symbols. This test adds what a link
cannot see: a header whose code is all inline. It fails when
  - a file includes a header of a layer its own layer does not declare;
  - a layer declares one above it (or itself: a cycle);
  - a layer declares one that none of its files includes (the table must
    say exactly what is used).

Usage: check_layers.py [SOURCE_DIR]   (default: the repository root)
It first checks itself on a small tree with one of each mistake.
"""
import os
import re
import sys
import tempfile

# Lowest first; a layer may only declare layers before it. The triggers
# layer (issue 18) goes between live and rpc.
LAYERS = ["common", "proto", "store", "sequencer", "watch", "hashing", "locks", "net", "live", "triggers", "rpc",
          "daemon"]
# Targets that are part of a layer without being its folder's main library:
# hs_sha256 is common/'s SHA-256, a target of its own so that libcrypto never
# reaches hsctl (common/CMakeLists.txt).
PART_OF = {"sha256": "common"}

INCLUDE = re.compile(r'^\s*#\s*include\s+"((?:common|proto|daemon)/[^"]+)"', re.M)
LINK = re.compile(r"target_link_libraries\(\s*hs_(\w+)\b([^)]*)\)", re.S)


def folder_of(layer):
    """The folder holding a layer's sources and its CMakeLists.txt."""
    if layer in ("common", "proto", "daemon"):
        return layer
    return "daemon/" + layer


def layer_of(path):
    """The layer of a repository-relative path: common/x, daemon/net/x, daemon/x (the root)."""
    parts = path.split("/")
    if parts[0] in ("common", "proto"):
        return parts[0]
    if parts[0] == "daemon":
        if len(parts) > 2 and parts[1] in LAYERS:
            return parts[1]
        if len(parts) == 2:
            return "daemon"
    return None


def declared(root, layer):
    """The hs_* layers that layer's CMakeLists.txt links its library to."""
    path = os.path.join(root, folder_of(layer), "CMakeLists.txt")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    deps = set()
    for target, args in LINK.findall(text):
        if target != layer:
            continue
        for name in re.findall(r"\bhs_(\w+)", args):
            deps.add(PART_OF.get(name, name))
    return deps, path


def sources(root, layer):
    """The C++ files of a layer (a subfolder of daemon/ is its own layer)."""
    top = os.path.join(root, folder_of(layer))
    for dirpath, dirnames, filenames in os.walk(top):
        rel_dir = os.path.relpath(dirpath, root)
        if layer == "daemon":
            dirnames[:] = []  # the root's own files only
        for name in sorted(filenames):
            if name.endswith((".cpp", ".hpp", ".hpp.in")):
                yield os.path.join(rel_dir, name)


def check(root):
    problems = []
    for layer in LAYERS:
        deps, cmake = declared(root, layer)
        cmake_rel = os.path.relpath(cmake, root)
        rank = LAYERS.index(layer)
        for d in sorted(deps):
            if d not in LAYERS:
                problems.append(f"{cmake_rel}: hs_{layer} links hs_{d}, which is not a layer in {LAYERS}")
            elif LAYERS.index(d) >= rank:
                problems.append(f"{cmake_rel}: hs_{layer} links hs_{d}, a layer not below it")
        used = set()
        for src in sources(root, layer):
            with open(os.path.join(root, src), encoding="utf-8") as f:
                text = f.read()
            for m in INCLUDE.finditer(text):
                target = layer_of(m.group(1))
                if target is None or target == layer:
                    continue
                used.add(target)
                if target not in deps:
                    line = text.count("\n", 0, m.start()) + 1
                    problems.append(f"{src}:{line}: includes {m.group(1)}, but {layer} may use only "
                                    f"{', '.join(sorted(deps)) or 'nothing'} ({cmake_rel})")
        for d in sorted(deps - used):
            if d in LAYERS:
                problems.append(f"{cmake_rel}: hs_{layer} links hs_{d}, but none of its files includes a {d} header")
    return problems


def self_test():
    """The checker must be able to fail: one tree, each mistake once."""
    with tempfile.TemporaryDirectory() as root:
        def put(path, text):
            full = os.path.join(root, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w", encoding="utf-8") as f:
                f.write(text)
        for layer in LAYERS:
            put(os.path.join(folder_of(layer), "CMakeLists.txt"), f"add_library(hs_{layer} STATIC)\n")
        put("common/CMakeLists.txt", "target_link_libraries(hs_common PRIVATE sodium)\n")
        put("common/a.hpp", "#pragma once\n")
        put("daemon/store/CMakeLists.txt", "target_link_libraries(hs_store PUBLIC hs_common)\n")
        put("daemon/store/ok.cpp", '#include "common/a.hpp"\n#include "daemon/store/ok.hpp"\n')
        put("daemon/store/up.cpp", '#include "common/a.hpp"\n#include "daemon/rpc/context.hpp"\n')
        put("daemon/net/CMakeLists.txt", "target_link_libraries(hs_net\n  PUBLIC hs_rpc hs_common)\n")
        put("daemon/net/n.cpp", '#include "common/a.hpp"\n')
        found = check(root)
        want = [
            "daemon/store/up.cpp:2: includes daemon/rpc/context.hpp",
            "hs_net links hs_rpc, a layer not below it",
            "hs_net links hs_rpc, but none of its files includes a rpc header",
        ]
        missing = [w for w in want if not any(w in p for p in found)]
        if missing or len(found) != len(want):
            print("check_layers.py self-test failed: expected", want, "found", found, file=sys.stderr)
            return False
    return True


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    if not self_test():
        return 1
    problems = check(os.path.abspath(root))
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"{len(problems)} layering problem(s); see docs/ARCHITECTURE.md", file=sys.stderr)
        return 1
    print(f"layers: every include goes down ({' < '.join(LAYERS)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
