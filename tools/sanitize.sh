#!/usr/bin/env bash
# The Python extension built with a sanitizer, and Python tests run against it.
#
#   tools/sanitize.sh asan [pytest args...]   AddressSanitizer + UndefinedBehaviorSanitizer (build/asan)
#   tools/sanitize.sh tsan [pytest args...]   ThreadSanitizer (build/tsan)
#
# Without pytest args it runs the files most exposed to memory and threading bugs. The sanitizer
# runtime is preloaded into the (uninstrumented) interpreter; CPython and its extensions leak by
# design, so leak detection is off. Any ASan report or UBSan finding aborts the run (exit != 0).
set -euo pipefail
cd "$(dirname "$0")/.."

kind=${1:?usage: tools/sanitize.sh asan|tsan [pytest args...]}
shift
py=$(command -v python3)
case "$kind" in
  asan) flag=-DCHAINGRAD_SANITIZE=ON; runtime="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
        default=(tests/test_hardening_ops.py tests/test_hardening_autograd.py tests/test_hardening_gradgrad.py
                 tests/test_hardening_classes.py tests/test_bad_arg_classes.py tests/test_int_arith.py
                 tests/test_op_errors.py tests/test_autograd.py tests/test_optim.py tests/test_serialization.py
                 tests/test_thread_safety.py tests/test_fuzz.py) ;;
  tsan) flag=-DCHAINGRAD_TSAN=ON; runtime="$(gcc -print-file-name=libtsan.so)"
        default=(tests/test_thread_safety.py) ;;
  *) echo "unknown sanitizer '$kind' (asan or tsan)" >&2; exit 2 ;;
esac
build=build/$kind
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHAINGRAD_BUILD_PYTHON=ON "$flag" \
  -DPython_EXECUTABLE="$py" -Dpybind11_DIR="$("$py" -m pybind11 --cmakedir)" \
  ${CMAKE_CXX_COMPILER_LAUNCHER:+-DCMAKE_CXX_COMPILER_LAUNCHER=$CMAKE_CXX_COMPILER_LAUNCHER} >/dev/null
cmake --build "$build" --target _C --parallel "${JOBS:-2}"

# A package folder of its own: python/chaingrad with the sanitized _C (the source tree's stays).
pkg=$build/python
rm -rf "$pkg" && mkdir -p "$pkg"
cp -r python/chaingrad "$pkg/"
rm -f "$pkg"/chaingrad/_C*.so
cp "$build"/csrc/_C*.so "$pkg/chaingrad/"

export PYTHONPATH="$PWD/$pkg${PYTHONPATH:+:$PYTHONPATH}"
export LD_PRELOAD="$runtime"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
# OpenMP's runtime is not instrumented: its barriers look like races. The threads under test are
# Python's; the kernels run single-threaded here.
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:${TSAN_OPTIONS:-}"
[ "$kind" = tsan ] && export OMP_NUM_THREADS=1
export CHAINGRAD_FUZZ_EXAMPLES="${CHAINGRAD_FUZZ_EXAMPLES:-60}"
if [ $# -eq 0 ]; then set -- "${default[@]}"; fi
"$py" -m pytest -q -x -p no:cacheprovider -W ignore -o addopts= "$@"
