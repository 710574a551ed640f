"""What every script shares: the repo root, the data home, the shipped PASL weights, and `fail`.

Importing this module is also the one sys.path step the scripts need: it appends the repo root, so
`sculptor` and `scripts` import when a script runs as a file (`python scripts/NAME.py`); appended, so that
ComfyUI's own top-level `nodes` keeps winning over the pack's nodes/. Each script imports it first:

    if __package__:  # python -m scripts.NAME
        from scripts.repo_paths import ROOT
    else:  # python scripts/NAME.py
        from repo_paths import ROOT
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parents[1]
HOME = Path(os.environ.get("FLUX_SCULPTOR_HOME", Path.home() / ".cache" / "flux-sculptor"))
"""The data home: the shared venvs, the pinned ComfyUI, the PASL data set and training cache."""
PASL_DATA = HOME / "pasl_data" / "celeba_pasl.npz"
SHIPPED_WEIGHTS = ROOT / "pasl_weights" / "pasl_minilm_celeba.safetensors"

if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))


def fail(message: str) -> NoReturn:
    """The scripts' one way to stop on bad input: `error: <message>` on stderr, exit status 2."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)
