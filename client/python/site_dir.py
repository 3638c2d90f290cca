"""Prints where, relative to the install prefix given as argv[1], the system
Python finds pure-Python packages (CMake: HS_PYTHON_INSTALL_DIR's default).

Debian's python3 reads /usr/lib/python3/dist-packages (what a .deb ships
into) and <prefix>/lib/python3.X/dist-packages for /usr/local; elsewhere it
is sysconfig's posix_prefix purelib (lib/python3.X/site-packages)."""
import os
import sys
import sysconfig

prefix = os.path.normpath(sys.argv[1])
if "deb_system" in sysconfig.get_scheme_names():
    if prefix == "/usr":
        print("lib/python3/dist-packages")
    else:
        print("lib/python%s/dist-packages" % sysconfig.get_python_version())
else:
    base = {"base": prefix, "platbase": prefix, "installed_base": prefix, "installed_platbase": prefix}
    print(os.path.relpath(sysconfig.get_path("purelib", "posix_prefix", vars=base), prefix))
