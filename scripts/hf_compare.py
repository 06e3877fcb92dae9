#!/usr/bin/env python3
"""Checks `uio` against Hugging Face transformers and sentencepiece on a machine that has them.

For each model folder: the log-probabilities `uio score --json` gives at every position against
LlamaForCausalLM in float32, and, when the folder has a tokenizer.model, `uio tokenize` against
the sentencepiece library. Prints one JSON object; exits 1 when a difference exceeds tolerance.
"""
import json
import subprocess
import sys

import torch
from transformers import LlamaForCausalLM

TEXTS = [
    "Hello world, this is a test.",
    "  two leading spaces and  double  spaces ",
    "Grüße aus Köln: ünïcödé, 日本語のテキスト, emoji 🎉🚀 and a stray ½.",
    "Numbers 1234567 and 3.14159, symbols <s> </s> [INST] <<SYS>> as plain text.",
]


def uio_json(uio, *args):
    return json.loads(subprocess.run([uio, *args], check=True, capture_output=True, text=True).stdout)


def compare(uio, folder, device):
    model = LlamaForCausalLM.from_pretrained(folder, torch_dtype=torch.float32).eval()
    vocab = model.config.vocab_size
    generator = torch.Generator().manual_seed(0)
    ids = [1] + torch.randint(3, vocab, (63,), generator=generator).tolist()
    with torch.no_grad():
        reference = torch.log_softmax(model(torch.tensor([ids])).logits[0].double(), -1)
    ours = uio_json(uio, "score", "--model", folder, "--ids", ",".join(map(str, ids)), "--json", "--device", device)
    diff = max(abs(p["next_logprob"] - reference[p["index"], p["next"]].item())
               for p in ours["positions"] if p["next"] is not None)
    result = {"model": folder, "device": device, "positions": len(ids), "max_abs_logprob_diff": diff}
    try:
        import sentencepiece
        sp = sentencepiece.SentencePieceProcessor(model_file=folder + "/tokenizer.model")
        mismatches = [t for t in TEXTS if uio_json(uio, "tokenize", "--model", folder, "--text", t, "--json")["ids"]
                      != [1] + sp.encode(t)]
        result["tokenizer_mismatches"] = mismatches
    except (OSError, RuntimeError):
        pass  # no tokenizer.model in this folder
    return result


def main():
    uio, device, folders = sys.argv[1], sys.argv[2], sys.argv[3:]
    results = [compare(uio, folder, device) for folder in folders]
    print(json.dumps(results, indent=1))
    ok = all(r["max_abs_logprob_diff"] < 1e-4 and not r.get("tokenizer_mismatches") for r in results)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
