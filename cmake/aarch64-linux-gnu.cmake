# Cross-build for arm64 with Debian's gcc-aarch64-linux-gnu and the
# multiarch -dev:arm64 packages (tools/setup.sh --arch arm64 installs
# them; tools/build.sh --arch arm64 uses this file).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
# Libraries and headers from /usr/lib/aarch64-linux-gnu and /usr/include
# (multiarch), never the host's x86_64 ones.
set(ENV{PKG_CONFIG_LIBDIR}
    /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")
# libhttp_parser.a: unpacked by tools/setup.sh --arch arm64 (its -dev
# package cannot be installed beside the host's).
if(DEFINED ENV{KVMLITE_CACHE})
  set(kvmlite_arm64_sysroot $ENV{KVMLITE_CACHE}/arm64-sysroot)
else()
  set(kvmlite_arm64_sysroot $ENV{HOME}/.cache/kvmlite/arm64-sysroot)
endif()
list(APPEND CMAKE_LIBRARY_PATH
     ${kvmlite_arm64_sysroot}/usr/lib/aarch64-linux-gnu)
# Unit tests run through qemu-user when it is installed.
find_program(KVMLITE_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(KVMLITE_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${KVMLITE_QEMU_AARCH64}
      -L /usr/aarch64-linux-gnu)
endif()
