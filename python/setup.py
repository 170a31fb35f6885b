"""Build kvmlite._native: the CPython extension, with libkvmlite's own
sources compiled in (this directory sits in the kvmlite source tree).

Needs what tools/setup.sh installs: gcc, python3-dev, libjansson-dev,
libseccomp-dev. Nothing is looked up at import time: the extension holds
the whole library and links only the system's jansson and libseccomp.
"""
import atexit
import platform
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from setuptools import Extension, setup

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if not (ROOT / "include" / "kvmlite.h").is_file() or not (ROOT / "src" / "vm.c").is_file():
    raise SystemExit(
        f"kvmlite: {ROOT} is not a kvmlite source tree: install with "
        "`pip install --no-build-isolation ./python` from the repository's root"
    )


def version() -> str:
    text = (ROOT / "include" / "kvmlite.h").read_text()
    parts = [re.search(rf"#define KVMLITE_VERSION_{k} (\d+)", text).group(1)
             for k in ("MAJOR", "MINOR", "PATCH")]
    return ".".join(parts)


# One architecture's files, as CMakeLists.txt picks them (src/arch.h).
if platform.machine() in ("aarch64", "arm64"):
    OTHER_ARCH = re.compile(r"^(x86_.*|.*_x86|i8042|rtc)\.c$")
else:
    OTHER_ARCH = re.compile(r"^(arm64.*|.*_arm64)\.c$")


def library_sources() -> list:
    """The library's C files, as CMakeLists.txt globs them, relative to
    this directory (setuptools refuses absolute paths)."""
    dirs = ["src", "src/vcpu", "src/loader", "src/devices", "src/virtio", "src/exec"]
    files = []
    for d in dirs:
        files += sorted(f"../{d}/{p.name}" for p in (ROOT / d).glob("*.c")
                        if not OTHER_ARCH.match(p.name))
    # The command's own files (main, the API socket) are not the library.
    return [f for f in files if f != "../src/main.c" and not Path(f).name.startswith("api")]


# directories out of the tree, one per build, so that two builds at once
# (a test and a user) do not share them.
scratch = tempfile.mkdtemp(prefix="kvmlite-python-build.")
atexit.register(shutil.rmtree, scratch, ignore_errors=True)

# kvmlite exec's guest init, built as CMakeLists.txt builds it and
# embedded by src/exec/init_image.c (EXEC_INIT_PATH).
exec_init = str(Path(scratch) / "exec_init.elf")
subprocess.run(["gcc", "-D_GNU_SOURCE", "-static", "-Os", "-s", "-Wall", "-Wextra", "-Werror",
                "-I", str(ROOT / "src"), "-o", exec_init, str(ROOT / "src/guest/exec_init.c")],
               check=True)


ext = Extension(
    "kvmlite._native",
    sources=["kvmlite/_native.c"] + library_sources(),
    # src/ for quoted includes only: its limits.h is not <limits.h>.
    include_dirs=[str(ROOT / "include")],
    define_macros=[("_GNU_SOURCE", None), ("KVMLITE_BUILDING", None),
                   ("EXEC_INIT_PATH", f'"{exec_init}"')],
    extra_compile_args=[
        "-iquote", str(ROOT / "src"), "-std=gnu11", "-fvisibility=hidden", "-Wall", "-Wextra", "-Werror",
        "-Wno-unused-parameter", "-Wno-missing-field-initializers",
        "-Wno-cast-function-type", "-fno-strict-aliasing",
        "-fstack-protector-strong", "-fstack-clash-protection",
    ],
    extra_link_args=["-Wl,-z,relro,-z,now,-z,noexecstack"],
    libraries=["jansson", "seccomp", "pthread"],
)

# pip builds in this directory: setuptools' build and egg-info go to
# scratch (above).

setup(
    version=version(),
    ext_modules=[ext],
    options={"build": {"build_base": scratch}, "egg_info": {"egg_base": scratch}},
)
