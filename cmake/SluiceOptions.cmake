# Build options shared by every target.
option(SLUICE_WERROR "Treat compiler warnings as errors (CI turns this on)" OFF)
option(SLUICE_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(SLUICE_FUZZ "Build the libFuzzer targets of tests/fuzz (clang only; see tests/fuzz/run)" OFF)
option(SLUICE_BUILD_TESTS "Build the unit tests and register the integration tests" ON)
option(SLUICE_BUILD_BENCH "Build the benchmarks of bench/" ON)
option(SLUICE_UNITY_BUILD "Compile every target in unity batches of eight sources (scripts/setup: docs/hardening.md)" OFF)

set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "Build type" FORCE)
endif()

# ccache, where installed, keeps the rebuild of a fresh clone (CI, a second worktree) at
# seconds: paths are hashed relative to the source tree, so every checkout shares one cache.
find_program(SLUICE_CCACHE ccache)
if(SLUICE_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CMAKE_COMMAND} -E env CCACHE_BASEDIR=${CMAKE_SOURCE_DIR}
      CCACHE_NOHASHDIR=true CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
      ${SLUICE_CCACHE})
endif()

add_library(sluice_warnings INTERFACE)
target_compile_options(sluice_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
                       -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wunused
                       -Woverloaded-virtual -Wformat=2
                       # GCC 12 pairs an Asio coroutine frame's operator delete with the
                       # plain operator new inlined inside Asio's recycling allocator and
                       # reports a mismatch that is not there (GCC bug 109224).
                       -Wno-mismatched-new-delete)
if(SLUICE_WERROR)
  target_compile_options(sluice_warnings INTERFACE -Werror)
endif()

if(SLUICE_FUZZ AND NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "SLUICE_FUZZ needs clang (libFuzzer): -DCMAKE_CXX_COMPILER=clang++-14")
endif()
if(SLUICE_SANITIZE OR SLUICE_FUZZ)
  # -O1 and line tables only (-g1, enough for the reports' file:line), after the build
  # type's -O2 -g: an instrumented Asio/Beast translation unit is the slowest thing to
  # compile in CI (scripts/test), and this build is compiled there from scratch.
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all -O1 -g1)
  add_link_options(-fsanitize=address,undefined)
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    # Clang 14 cannot emit -fsanitize=function's prologue data for the split halves of
    # a coroutine ("Cannot represent a difference across sections").
    add_compile_options(-fno-sanitize=function)
  else()
    # GCC 12 sees maybe-uninitialized values inside <regex> once sanitizers instrument it.
    add_compile_options(-Wno-maybe-uninitialized)
  endif()
endif()

# Boost 1.74's Asio looks for clang's coroutines only as <experimental/coroutine>
# (libc++), and so leaves co_await out with clang on libstdc++'s <coroutine>.
# Clang stamps a precompiled header with its build time, which makes every object that
# uses it a ccache miss; without the stamp, a second clang build is cache hits.
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  add_compile_definitions(BOOST_ASIO_HAS_CO_AWAIT=1)
  add_compile_options("SHELL:-Xclang -fno-pch-timestamp")
endif()
