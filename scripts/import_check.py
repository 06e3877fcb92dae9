#!/usr/bin/env python3
"""Saves an adapter in the authors' layout with Python's own torch.save, imports it with
`uio adapter import` and checks every tensor arrived unchanged. Usage: import_check.py UIO MODEL_DIR"""
import json
import subprocess
import sys
import tempfile

import torch
from safetensors.torch import load_file


def main():
    uio, model = sys.argv[1], sys.argv[2]
    config = json.load(open(model + "/config.json"))
    d, layers, r = config["hidden_size"], config["num_hidden_layers"], 8
    d_q = d
    d_kv = config["num_key_value_heads"] * (d // config["num_attention_heads"])
    torch.manual_seed(0)
    e_mem, e_rep = torch.randn(d), torch.randn(d)
    encoder = [[torch.randn(r, d), torch.randn(d_q, r), torch.randn(r, d), torch.randn(d_kv, r)] for _ in range(layers)]
    transfer = [[torch.randn(r, d), torch.randn(d_kv, r), torch.randn(r, d), torch.randn(d_kv, r)] for _ in range(layers)]
    checkpoint = [torch.nn.Parameter(e_mem)] + [t for layer in encoder for t in layer] + [e_rep] + \
                 [t for layer in transfer for t in layer]
    with tempfile.TemporaryDirectory() as tmp:
        torch.save(checkpoint, tmp + "/authors.pt")
        subprocess.run([uio, "adapter", "import", "--model", model, "--checkpoint", tmp + "/authors.pt",
                        "--out", tmp + "/adapter.safetensors", "--segment-length", "64", "--memory-tokens", "8",
                        "--alpha", "16"], check=True, capture_output=True)
        imported = load_file(tmp + "/adapter.safetensors")
    expected = {"e_mem": e_mem, "e_rep": e_rep}
    for k in range(layers):
        for name, t in zip(["encoder.q.A", "encoder.q.B", "encoder.v.A", "encoder.v.B"], encoder[k]):
            expected[f"layers.{k}.{name}"] = t
        for name, t in zip(["transfer.k.A", "transfer.k.B", "transfer.v.A", "transfer.v.B"], transfer[k]):
            expected[f"layers.{k}.{name}"] = t
    mismatched = [n for n, t in expected.items() if not torch.equal(imported[n], t)]
    print(json.dumps({"tensors": len(expected), "mismatched": mismatched}))
    sys.exit(1 if mismatched or set(imported) != set(expected) else 0)


if __name__ == "__main__":
    main()
