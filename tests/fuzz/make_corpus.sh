#!/usr/bin/env bash
# Regenerates the seed corpora of tests/fuzz/corpus/ from files the real neuroai program writes: tiny
# runs of train mlp (dense and CSR layers), train gru and train gnn give checkpoints, training states,
# metrics.jsonl files and config.toml files; a tiny IDX / CIFAR-10 data set and graph files are made
# here. Usage: tests/fuzz/make_corpus.sh NEUROAI_BINARY
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$(realpath "${1:?usage: $0 NEUROAI_BINARY}")
out=tests/fuzz/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1

# A 4x3-pixel IDX data set: 24 training and 8 test images, 3 classes; raw and gzipped.
python3 - "$work/idx" <<'PY'
import gzip, os, struct, sys
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
def write(name, data):
    open(os.path.join(d, name), "wb").write(data)
for split, n in (("train", 24), ("t10k", 8)):
    px = bytes((i * 37 + j * 11) % 256 for i in range(n) for j in range(12))
    write(f"{split}-images-idx3-ubyte", struct.pack(">IIII", 2051, n, 4, 3) + px)
    write(f"{split}-labels-idx1-ubyte", struct.pack(">II", 2049, n) + bytes(i % 3 for i in range(n)))
PY
mkdir -p "$work/idxgz"
for f in "$work"/idx/*; do gzip -9nc "$f" >"$work/idxgz/$(basename "$f").gz"; done

mlp=(--data "$work/idx" --hidden 4 --epochs 2 --batch 8 --quiet --threads 1)
"$bin" train mlp "${mlp[@]}" --out "$work/mlp-dense" --sparsity 0.5 >/dev/null
"$bin" train mlp "${mlp[@]}" --out "$work/mlp-csr" --sparsity 0.75 --sparse-format csr >/dev/null
"$bin" train gru --task adding --seq-len 4 --hidden 3 --groups 1 --epochs 2 --train-limit 16 --test-limit 8 --batch 8 --quiet \
  --threads 1 --out "$work/gru" >/dev/null
"$bin" train gnn --graph sbm:n=12,k=2,deg=4,ratio=0.1,seed=1 --feature-dim 3 --hidden 4 --epochs 4 --eval-every 2 \
  --null-replicates 2 --quiet --threads 1 --out "$work/gnn" >/dev/null

# Inputs that once crashed a reader (regress-*) stay; everything else is regenerated.
[ -d "$out" ] && find "$out" -type f ! -name 'regress-*' -delete
mkdir -p "$out"/{fuzz_safetensors,fuzz_train_state,fuzz_idx,fuzz_cifar,fuzz_config,fuzz_edge_list,fuzz_graph_spec,fuzz_sweep_grid,fuzz_metrics_resume}
for r in mlp-dense mlp-csr gru gnn; do
  cp "$work/$r/model.safetensors" "$out/fuzz_safetensors/$r.safetensors"
  [ -f "$work/$r/state.safetensors" ] && cp "$work/$r/state.safetensors" "$out/fuzz_train_state/$r.safetensors"
  cp "$work/$r/metrics.jsonl" "$out/fuzz_metrics_resume/$r.jsonl"
done
# A metrics file cut mid-line, as a kill leaves it.
head -c $(( $(wc -c <"$work/mlp-dense/metrics.jsonl") - 17 )) "$work/mlp-dense/metrics.jsonl" \
  >"$out/fuzz_metrics_resume/mlp-cut.jsonl"

# fuzz_idx: mode byte (0 raw, 1 gzip), images, @@@@, labels.
for mode in raw gz; do
  src="$work/idx"; ext=""; byte='\x00'
  [ $mode = gz ] && { src="$work/idxgz"; ext=".gz"; byte='\x01'; }
  { printf "$byte"; cat "$src/train-images-idx3-ubyte$ext"; printf '@@@@'; cat "$src/train-labels-idx1-ubyte$ext"; } \
    >"$out/fuzz_idx/train-$mode"
done

# fuzz_cifar: two records.
python3 - "$out/fuzz_cifar/two-records.bin" <<'PY'
import sys
rec = lambda label: bytes([label]) + bytes((label * 7 + i) % 256 for i in range(3072))
open(sys.argv[1], "wb").write(rec(1) + rec(9))
PY

# fuzz_config: command byte (0 train mlp, 1 gru, 2 rnn, 3 gnn), the run's config.toml, @@@@, --set lines.
i=0
for r in mlp-dense gru gnn; do
  byte=$(printf '\\x%02x' $(( i == 0 ? 0 : (i == 1 ? 1 : 3) )))
  { printf "$byte"; cat "$work/$r/config.toml"; printf '@@@@'; printf 'epochs=3\nlr=0.5\n'; } >"$out/fuzz_config/$r"
  i=$((i + 1))
done

# fuzz_sweep_grid: a config, @@@@, grid and set lines.
{ printf 'command = "train mlp"\nepochs = 1\nhidden = [4]\n@@@@'; printf 'sparsity=0.5,0.9\nlr=0.1;0.01\nset epochs=2\n'; } \
  >"$out/fuzz_sweep_grid/mlp-grid"
{ cat "$work/gnn/config.toml"; printf '@@@@'; printf 'edge_sparsity=0.2,0.5\ngraph=sbm:n=100,k=2;er:n=100,deg=5\n'; } \
  >"$out/fuzz_sweep_grid/gnn-grid"

# fuzz_edge_list: edges, @@@@, labels, @@@@, features (from the gnn run's kept edges).
"$bin" train gnn --help >/dev/null
printf '# u v [w]\n0 1\n1 2 0.5\n2 0\n3 4\n4 4\n1 0 2\n' >"$work/edges.txt"
{ cat "$work/edges.txt"; printf '@@@@0 0\n1 0\n2 1\n3 1\n@@@@'; printf '0.1 0.2\n1 -1\n0 0\n2.5 1e-3\n3 3\n'; } \
  >"$out/fuzz_edge_list/graph-all"
[ -f "$work/gnn/kept_edges.txt" ] && head -c 2048 "$work/gnn/kept_edges.txt" >"$out/fuzz_edge_list/kept-edges"

# fuzz_graph_spec: the specs of the docs and tests.
printf 'sbm:n=120,k=3,deg=10,ratio=0.1,seed=4' >"$out/fuzz_graph_spec/sbm"
printf 'er:n=100,deg=5,k=2,seed=3' >"$out/fuzz_graph_spec/er"
printf 'sbm:n=200,k=2,deg=8' >"$out/fuzz_graph_spec/sbm-short"

du -sh "$out"/* | sort -h
