"""chaingrad benchmark suite.

Run ``python -m benchmarks --help``. Workloads live in :mod:`benchmarks.workloads`; each
takes the tensor module (``chaingrad`` or ``torch``) as an argument, so the same code
measures both systems.
"""
