"""Compiles the Cython rung in place: .venv/bin/python ladder/build_ext.py

Cython translates the .pyx to C in build-cython/, and the C compiler builds
the extension next to the .pyx, with the flags Python itself was built for
(no setuptools: the project's pyproject.toml belongs to the C library)."""

import subprocess
import sys
import sysconfig
from pathlib import Path

from Cython.Build import cythonize

here = Path(__file__).resolve().parent
tmp = here.parent / "build-cython"
tmp.mkdir(exist_ok=True)
pyx = here / "p3_cython_impl.pyx"
c_file = tmp / "p3_cython_impl.c"
cythonize([str(pyx)], quiet=True, force=True, build_dir=None)
(here / "p3_cython_impl.c").replace(c_file)
target = here / ("p3_cython_impl" + sysconfig.get_config_var("EXT_SUFFIX"))
cmd = [
    sysconfig.get_config_var("CC").split()[0],
    "-shared",
    "-fPIC",
    "-O3",
    "-I" + sysconfig.get_paths()["include"],
    str(c_file),
    "-o",
    str(target),
]
print(" ".join(cmd))
sys.exit(subprocess.call(cmd))
