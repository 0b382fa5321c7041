#!/usr/bin/python3
"""Write the default architecture with random weights as an ictal model file.

  export_default.py OUT.safetensors [SEED]

Training is a later issue; this file is for tests, the benchmark and demos.
"""
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, __file__.rsplit("/", 1)[0])
import ictal_ref as R  # noqa: E402

if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    m = R.default_model(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    R.save_model(m, sys.argv[1])
    print(f"{sys.argv[1]}: {sum(p.numel() for p in m.parameters())} parameters, "
          f"{m.sample_rate} Hz -> {m.sample_rate / m.hop()} Hz frames")
