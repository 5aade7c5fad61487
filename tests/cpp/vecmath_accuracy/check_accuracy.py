#!/usr/bin/env python3
"""Accuracy harness for csrc/kernels/vecmath.h (vec_exp / vec_log / vec_tanh / vec_sigmoid).

Builds vecmath_dump.cpp with g++ -O3 -fno-math-errno (into a temp dir under /tmp), feeds it
sampled inputs and asserts the max relative error against numpy:
  float32 results vs a float64 reference (np.exp/np.log/np.tanh on the float64-cast inputs),
  float64 results vs a float64 reference and vs a long-double (x87 80-bit) reference.
Also checks the special values (inf/NaN/zero/overflow/underflow) and, with a tiny generated TU
compiled with -fopt-info-vec-optimized, that the plain `o[i] = vec_f(a[i])` loops vectorize.

  python tests/cpp/vecmath_accuracy/check_accuracy.py [--cxxflags "-march=native"] [--bench]
"""

import argparse
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
CSRC = ROOT / "csrc"
BASE_FLAGS = ["-std=c++17", "-O3", "-fno-math-errno", "-Wall", "-Wextra"]

TOL = {"f32": 4e-7, "f64": 1e-14}
NP_DTYPE = {"f32": np.float32, "f64": np.float64}
FUNCS = ("exp", "log", "tanh", "sigmoid")


# ---------------------------------------------------------------------------------------- build


def build(workdir: Path, extra: list) -> Path:
    exe = workdir / "vecmath_dump"
    cmd = ["g++", *BASE_FLAGS, *extra, f"-I{CSRC}", str(HERE / "vecmath_dump.cpp"), "-o", str(exe)]
    print("build:", " ".join(shlex.quote(c) for c in cmd))
    subprocess.run(cmd, check=True)
    return exe


def check_vectorized(workdir: Path, extra: list) -> None:
    """Compile one loop per (function, type), each on its own line, and require GCC to report it
    vectorized."""
    lines = ['#include "kernels/vecmath.h"', "using namespace cg::kernels;"]
    where = {}
    for t in ("float", "double"):
        for f in FUNCS:
            where[len(lines) + 1] = f"{f}<{t}>"
            lines.append(
                f"void loop_{f}_{t}({t}* __restrict o, const {t}* __restrict a, long n) "
                f"{{ for (long i = 0; i < n; ++i) o[i] = vec_{f}(a[i]); }}"
            )
    src = workdir / "vec_loops.cpp"
    src.write_text("\n".join(lines) + "\n")
    cmd = [
        "g++",
        *BASE_FLAGS,
        *extra,
        f"-I{CSRC}",
        "-fopt-info-vec-optimized",
        "-c",
        str(src),
        "-o",
        str(workdir / "vec_loops.o"),
    ]
    res = subprocess.run(cmd, check=True, capture_output=True, text=True)
    done = {}
    for m in re.finditer(
        r"vec_loops\.cpp:(\d+):\d+: optimized: loop vectorized using (\d+) byte vectors", res.stderr
    ):
        done.setdefault(int(m.group(1)), []).append(int(m.group(2)))
    print(f"vectorization (-fopt-info-vec-optimized, flags: {' '.join(BASE_FLAGS + extra)}):")
    missing = []
    for line, name in where.items():
        widths = done.get(line)
        status = (
            f"vectorized, {'/'.join(map(str, widths))} byte vectors" if widths else "NOT VECTORIZED"
        )
        print(f"  {name:16s} {status}")
        if not widths:
            missing.append(name)
    assert not missing, f"loops not vectorized: {missing}"


# ------------------------------------------------------------------------------------------ run


class Runner:
    def __init__(self, exe: Path, workdir: Path):
        self.exe, self.workdir = exe, workdir

    def __call__(self, func: str, dtype: str, x) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=NP_DTYPE[dtype])
        fin, fout = self.workdir / "in.bin", self.workdir / "out.bin"
        x.tofile(fin)
        subprocess.run([str(self.exe), func, dtype, str(fin), str(fout)], check=True)
        return np.fromfile(fout, dtype=NP_DTYPE[dtype])


def ref(func: str, x: np.ndarray) -> np.ndarray:
    """Reference in x's (wider) dtype."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore", under="ignore"):
        if func == "exp":
            return np.exp(x)
        if func == "log":
            return np.log(x)
        if func == "tanh":
            return np.tanh(x)
        if func == "sigmoid":  # exp(-|x|) form: no overflow, no cancellation
            e = np.exp(-np.abs(x))
            return np.where(x < 0, e, 1) / (1 + e)
    raise ValueError(func)


def max_rel(out: np.ndarray, r: np.ndarray, x: np.ndarray, mask: np.ndarray):
    out_w = out.astype(r.dtype)
    rel = np.zeros(r.shape, dtype=r.dtype)
    sel = mask & (r != 0)
    rel[sel] = np.abs(out_w[sel] - r[sel]) / np.abs(r[sel])
    # where the reference is exactly 0 (log(1)), the result must be exactly 0 too
    z = mask & (r == 0)
    rel[z] = np.where(out_w[z] == 0, 0, np.inf)
    bad = mask & ~np.isfinite(out_w) & np.isfinite(r)
    rel[bad] = np.inf
    i = int(np.argmax(rel))
    return float(rel[i]), x[i]


RESULTS = []


def check(run, func, dtype, x, label, rel_floor=None):
    """Max relative error of vec_<func> on x (dtype) against the reference; asserts the target."""
    x = np.asarray(x, dtype=NP_DTYPE[dtype])
    out = run(func, dtype, x)
    refs = [("f64", ref(func, x.astype(np.float64)))]
    if dtype == "f64":
        refs.append(("ld", ref(func, x.astype(np.longdouble))))
    for rname, r in refs:
        mask = np.isfinite(r)
        if rel_floor is not None:
            mask &= np.abs(r) > rel_floor
        err, at = max_rel(out, r, x, mask)
        ulp = err / np.finfo(NP_DTYPE[dtype]).eps
        ok = err <= TOL[dtype]
        RESULTS.append((func, dtype, label, rname, err, ok))
        print(
            f"  {func:8s} {dtype} {label:34s} ref={rname:3s} n={x.size:8d}  max rel err {err:.3e}"
            f" (~{ulp:5.2f} eps) at x={at!r}  {'ok' if ok else 'FAIL'}"
        )
    return out


def expect(run, func, dtype, values, expected):
    x = np.array(values, dtype=NP_DTYPE[dtype])
    out = run(func, dtype, x)
    exp = np.array(expected, dtype=NP_DTYPE[dtype])
    for xi, oi, ei in zip(x, out, exp):
        if np.isnan(ei):
            good = np.isnan(oi)
        elif ei == 0:
            good = oi == 0 and np.signbit(oi) == np.signbit(ei)
        elif np.isinf(ei):
            good = oi == ei
        else:
            good = abs(float(oi) - float(ei)) <= 4 * np.finfo(NP_DTYPE[dtype]).eps * abs(float(ei))
        RESULTS.append((func, dtype, f"special {xi!r}", "-", 0.0 if good else np.inf, bool(good)))
        if not good:
            print(f"  FAIL special: {func}<{dtype}>({xi!r}) = {oi!r}, expected {ei!r}")


# ---------------------------------------------------------------------------------------- tests


def symmetric_samples(dtype, hi, rng):
    """Dense near 0 and uniform over [-hi, hi]: log-spaced magnitudes of both signs, the
    requested probe points, and a fine grid around the small/large switch of tanh (0.625)."""
    mags = np.concatenate(
        [
            np.geomspace(1e-30 if dtype == "f32" else 1e-300, hi, 400_000),
            rng.uniform(0, 1, 400_000),
            rng.uniform(0, hi, 400_000),
            np.linspace(0.5, 0.75, 100_001),
            [1e-8, 1e-4, 0.01, 0.3, 0.6, 0.625, 1.0, 5.0, 9.0, 20.0, 50.0],
        ]
    )
    x = np.concatenate([mags, -mags, np.linspace(-hi, hi, 400_001)])
    return x.astype(NP_DTYPE[dtype])


def run_all(run):
    rng = np.random.default_rng(1234)

    print("exp:")
    check(
        run,
        "exp",
        "f32",
        np.concatenate([np.linspace(-87, 88, 2_000_001), rng.uniform(-87, 88, 1_000_000)]),
        "[-87, 88]",
    )
    check(run, "exp", "f32", np.linspace(88, 88.72, 100_001), "[88, 88.72] (near overflow)")
    check(
        run,
        "exp",
        "f64",
        np.concatenate([np.linspace(-700, 700, 2_000_001), rng.uniform(-700, 700, 1_000_000)]),
        "[-700, 700]",
    )
    check(
        run,
        "exp",
        "f64",
        np.concatenate([np.linspace(-708, 709.78, 200_001), rng.uniform(-1, 1, 200_000)]),
        "[-708, 709.78] + [-1, 1]",
    )
    # gradual underflow: subnormal results within one subnormal step of the reference
    for dtype, lo, hi in (("f32", -103.9, -87.4), ("f64", -745.1, -708.5)):
        x = np.linspace(lo, hi, 200_001).astype(NP_DTYPE[dtype])
        out = run("exp", dtype, x).astype(np.longdouble)
        r = np.exp(x.astype(np.longdouble))
        step = np.longdouble(np.finfo(NP_DTYPE[dtype]).smallest_subnormal)
        err = float(np.max(np.abs(out - r)) / step)
        ok = err <= 1.0
        RESULTS.append(("exp", dtype, "subnormal results", "ld", err, ok))
        print(
            f"  exp      {dtype} subnormal results [{lo}, {hi}]   max abs err {err:.3f}"
            f" subnormal steps  {'ok' if ok else 'FAIL'}"
        )
    for dtype in ("f32", "f64"):
        big = 89.0 if dtype == "f32" else 710.0
        small = -104.0 if dtype == "f32" else -746.0
        expect(
            run,
            "exp",
            dtype,
            [np.inf, -np.inf, np.nan, -np.nan, 0.0, -0.0, big, 1e30, small, -1e30],
            [np.inf, 0.0, np.nan, np.nan, 1.0, 1.0, np.inf, np.inf, 0.0, 0.0],
        )

    print("log:")
    check(
        run,
        "log",
        "f32",
        np.concatenate(
            [np.geomspace(1e-30, 1e30, 2_000_001), 10 ** rng.uniform(-30, 30, 1_000_000)]
        ),
        "[1e-30, 1e30] log-spaced",
    )
    one = np.float32(1)
    near1_f = np.concatenate(
        [
            np.nextafter(one, 2, dtype=np.float32)
            + np.arange(0, 20000, dtype=np.float32) * np.finfo(np.float32).eps,
            one - np.arange(1, 20000, dtype=np.float32) * np.finfo(np.float32).epsneg,
            rng.uniform(0.5, 2, 1_000_000),
        ]
    )
    check(run, "log", "f32", near1_f, "near 1 and [0.5, 2]")
    check(run, "log", "f32", np.geomspace(1e-45, 1.2e-38, 200_001), "subnormal inputs")
    check(
        run,
        "log",
        "f64",
        np.concatenate(
            [np.geomspace(1e-300, 1e300, 2_000_001), 10 ** rng.uniform(-300, 300, 1_000_000)]
        ),
        "[1e-300, 1e300] log-spaced",
    )
    near1_d = np.concatenate(
        [
            1 + np.arange(1, 20000) * np.finfo(np.float64).eps,
            1 - np.arange(1, 20000) * np.finfo(np.float64).epsneg,
            rng.uniform(0.5, 2, 1_000_000),
        ]
    )
    check(run, "log", "f64", near1_d, "near 1 and [0.5, 2]")
    check(run, "log", "f64", np.geomspace(5e-324, 2.3e-308, 200_001), "subnormal inputs")
    for dtype in ("f32", "f64"):
        expect(
            run,
            "log",
            dtype,
            [0.0, -0.0, -1.0, -1e-30, np.inf, -np.inf, np.nan, -np.nan, 1.0, 2.0, np.e],
            [
                -np.inf,
                -np.inf,
                np.nan,
                np.nan,
                np.inf,
                np.nan,
                np.nan,
                np.nan,
                0.0,
                np.log(2.0),
                1.0,
            ],
        )
        expect(
            run,
            "log",
            dtype,
            [np.finfo(NP_DTYPE[dtype]).max, np.finfo(NP_DTYPE[dtype]).smallest_subnormal],
            [
                np.log(np.float64(np.finfo(NP_DTYPE[dtype]).max)),
                np.log(np.float64(np.finfo(NP_DTYPE[dtype]).smallest_subnormal)),
            ],
        )

    print("tanh:")
    for dtype in ("f32", "f64"):
        check(run, "tanh", dtype, symmetric_samples(dtype, 50.0, rng), "[-50, 50], dense near 0")
        expect(
            run,
            "tanh",
            dtype,
            [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30, 100.0, -100.0, 1e30, -1e30],
            [0.0, -0.0, 1.0, -1.0, np.nan, 1e-30, -1e-30, 1.0, -1.0, 1.0, -1.0],
        )

    print("sigmoid:")
    for dtype in ("f32", "f64"):
        check(
            run,
            "sigmoid",
            dtype,
            symmetric_samples(dtype, 50.0, rng),
            "[-50, 50], dense near 0",
            rel_floor=1e-30,
        )
        wide = 100.0 if dtype == "f32" else 700.0
        check(
            run,
            "sigmoid",
            dtype,
            np.linspace(-wide, wide, 400_001),
            f"[-{wide:g}, {wide:g}] (true > 1e-30)",
            rel_floor=1e-30,
        )
        expect(
            run,
            "sigmoid",
            dtype,
            [0.0, -0.0, np.inf, -np.inf, np.nan, 100.0, 1e30, -1e30],
            [0.5, 0.5, 1.0, 0.0, np.nan, 1.0, 1.0, 0.0],
        )
    # sigmoid(-100) = 3.7200759760208e-44 must be representable and accurate in double
    expect(run, "sigmoid", "f64", [-100.0], [3.7200759760208356e-44])


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cxxflags", default="", help="extra compiler flags, e.g. -march=native")
    ap.add_argument(
        "--bench", action="store_true", help="also run the ns/element benchmark (10M, 1 thread)"
    )
    args = ap.parse_args()
    extra = shlex.split(args.cxxflags)
    with tempfile.TemporaryDirectory(prefix="vecmath_acc_", dir="/tmp") as tmp:
        workdir = Path(tmp)
        check_vectorized(workdir, extra)
        exe = build(workdir, extra)
        run_all(Runner(exe, workdir))
        if args.bench:
            subprocess.run([str(exe), "bench"], check=True)
    failed = [r for r in RESULTS if not r[5]]
    print(
        "\nsummary: max relative error per function/dtype (over all sampled ranges, vs reference):"
    )
    for func in FUNCS:
        for dtype in ("f32", "f64"):
            errs = [
                r[4]
                for r in RESULTS
                if r[0] == func
                and r[1] == dtype
                and r[3] in ("f64", "ld")
                and "subnormal results" not in r[2]
            ]
            if errs:
                print(f"  {func:8s} {dtype}: {max(errs):.3e}  (target {TOL[dtype]:.0e})")
    if failed:
        print(f"\nFAILED ({len(failed)}):")
        for r in failed:
            print("  ", r)
        sys.exit(1)
    print("\nall checks passed")


if __name__ == "__main__":
    main()
