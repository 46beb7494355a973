#!/usr/bin/env python3
"""Compares neuroai's GRU with torch.nn.GRU loaded with the same tensors.

The C++ test Rnn.WritesTorchParityFixtures (test_rnn) writes, under BUILD/gru_torch_check/,
<stem>.model.safetensors (a neuroai checkpoint: rnn.weight_ih, rnn.weight_hh, dense or CSR triplets
.crow_indices/.col_indices/.values, rnn.bias_ih, rnn.bias_hh, head.weight, head.bias; metadata
"config") and <stem>.io.safetensors (x (T, B, I), the hidden states h (T, B, H) and the readout y
(T, B, O) that neuroai computed). This script rebuilds the model in PyTorch and checks both.

Usage: python3 tests/models/check_gru_torch.py BUILD_DIR/gru_torch_check   (exit status 1 on mismatch)
Needs: torch (Debian python3-torch) and safetensors (pip install safetensors).
"""
import json
import pathlib
import sys

import torch
from safetensors import safe_open


def load_matrix(f, name, shape_meta):
    keys = set(f.keys())
    if name in keys:
        return f.get_tensor(name)
    crow = f.get_tensor(name + ".crow_indices").to(torch.int64)
    col = f.get_tensor(name + ".col_indices").to(torch.int64)
    val = f.get_tensor(name + ".values")
    rows, cols = (int(v) for v in shape_meta[name + ".shape"].split(","))
    return torch.sparse_csr_tensor(crow, col, val, size=(rows, cols)).to_dense()


def check(stem: pathlib.Path) -> bool:
    model_path = stem.with_name(stem.name + ".model.safetensors")
    io_path = stem.with_name(stem.name + ".io.safetensors")
    with safe_open(str(model_path), framework="pt") as f:
        meta = f.metadata()
        cfg = json.loads(meta["config"])
        assert cfg["cell"] == "gru" and cfg["kappa"] == 0.0, "parity needs the plain GRU (kappa 0)"
        w_ih = load_matrix(f, "rnn.weight_ih", meta)
        w_hh = load_matrix(f, "rnn.weight_hh", meta)
        b_ih, b_hh = f.get_tensor("rnn.bias_ih"), f.get_tensor("rnn.bias_hh")
        head_w, head_b = load_matrix(f, "head.weight", meta), f.get_tensor("head.bias")
    with safe_open(str(io_path), framework="pt") as f:
        x, h_ref, y_ref = f.get_tensor("x"), f.get_tensor("h"), f.get_tensor("y")
    gru = torch.nn.GRU(cfg["inputs"], cfg["hidden"])  # (T, B, I) input, gate order r, z, n
    with torch.no_grad():
        gru.weight_ih_l0.copy_(w_ih)
        gru.weight_hh_l0.copy_(w_hh)
        gru.bias_ih_l0.copy_(b_ih)
        gru.bias_hh_l0.copy_(b_hh)
        h, _ = gru(x)
        y = h @ head_w.T + head_b
    err_h = (h - h_ref).abs().max().item()
    err_y = (y - y_ref).abs().max().item()
    density = (w_hh != 0).float().mean().item()
    ok = err_h < 1e-5 and err_y < 1e-5
    print(f"{stem.name}: T={x.shape[0]} B={x.shape[1]} I={x.shape[2]} H={cfg['hidden']} "
          f"W_hh density {density:.2f}: max |h - torch| = {err_h:.2e}, max |y - torch| = {err_y:.2e} "
          f"{'OK' if ok else 'MISMATCH'}")
    return ok


def main() -> int:
    d = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "build/gru_torch_check")
    stems = sorted({p.name.split(".")[0] for p in d.glob("*.model.safetensors")})
    if not stems:
        print(f"no fixtures in {d}: run test_rnn --gtest_filter='*WritesTorchParityFixtures*' first")
        return 1
    results = [check(d / s) for s in stems]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
