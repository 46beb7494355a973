#!/usr/bin/env python3
"""Loads safetensors files with the Python reference implementation and prints each tensor's dtype,
shape and a few values: a manual cross-check that neuroai's writer produces files others can read.

    pip install safetensors numpy
    python3 tests/tools/check_safetensors.py build/safetensors_sample.safetensors

(test_safetensors writes build/safetensors_sample.safetensors.) Exit status 1 when a file cannot be
loaded. Not part of the C++ test suite, which must not depend on Python."""
import sys

from safetensors import safe_open
from safetensors.numpy import load_file


def main(paths):
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    status = 0
    for path in paths:
        try:
            tensors = load_file(path)
            with safe_open(path, framework="numpy") as f:
                metadata = f.metadata() or {}
        except Exception as e:  # the reference's own message is the point here
            print(f"{path}: FAILED to load: {e}", file=sys.stderr)
            status = 1
            continue
        print(f"{path}: {len(tensors)} tensors, metadata {metadata}")
        for name in sorted(tensors):
            t = tensors[name]
            head = t.reshape(-1)[:6].tolist()
            print(f"  {name}: {t.dtype} shape {list(t.shape)} first {head}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
