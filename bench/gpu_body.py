"""Copies of a model folder with its floating-point weights in fp16 (`--to16`, to carry it where size is limited)
or back in fp32 (the default: weights rounded to fp16, then held in fp32 like the original). Used by
bench/gpu_check.sh."""
import shutil
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

args = [a for a in sys.argv[1:] if a != "--to16"]
dtype = torch.float16 if "--to16" in sys.argv else torch.float32
src, dst = Path(args[0]), Path(args[1])
dst.mkdir(parents=True, exist_ok=True)
for f in src.iterdir():
    if f.is_file() and f.name != "model.safetensors":
        shutil.copy(f, dst / f.name)
state = load_file(src / "model.safetensors")
save_file({k: (v.to(dtype) if v.is_floating_point() else v).contiguous() for k, v in state.items()},
          dst / "model.safetensors", metadata={"format": "pt"})
print(f"{dtype} copy: {dst}")
