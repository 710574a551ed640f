"""Test harness: the pack runs inside a REAL ComfyUI (see comfy_home.py for which one).

Fixtures:
- `comfyui`: the ComfyUI folder, importable in-process (`import comfy.samplers` etc. work afterwards).
- `pack`: the pack module loaded by ComfyUI's own `nodes.load_custom_node`, as at server start.
- `inv_node`, `s2d_node`: our two editing node classes from that package.
- `tiny_flux`, `tiny_cond`, `tiny_latent`: factories for tiny random Flux MODEL / CONDITIONING / LATENT.
- `server`: the real ComfyUI server with the pack and tests/tiny_flux_pack loaded (session-wide).
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from comfy_home import FS_HOME, PACK_DIR, comfyui_version, import_comfyui
from helpers import pack_module

# The PASL dataset venv (mediapipe, numpy<2) that scripts/test.sh creates; found without the variable too.
if (FS_HOME / "venv-data" / "bin" / "python").exists():
    os.environ.setdefault("FLUX_SCULPTOR_DATA_PYTHON", str(FS_HOME / "venv-data" / "bin" / "python"))

COMFYUI = import_comfyui()  # sys.path only, plus `--cpu`; cheap and needed for collection of node tests
TESTS_DIR = Path(__file__).resolve().parent


def pytest_report_header(config) -> str:
    return f"ComfyUI: {COMFYUI} (version {comfyui_version(COMFYUI)})"


@pytest.fixture(scope="session")
def comfyui() -> Path:
    import comfy.model_management  # noqa: F401  (initialises devices: CPU here)

    return COMFYUI


@pytest.fixture(scope="session")
def pack(comfyui, tmp_path_factory):
    """The pack as ComfyUI loads it: from a custom_nodes folder, as a package, via nodes.load_custom_node."""
    import nodes

    folder = tmp_path_factory.mktemp("custom_nodes") / "flux-sculptor"
    folder.symlink_to(PACK_DIR, target_is_directory=True)
    result = nodes.load_custom_node(str(folder))
    if asyncio.iscoroutine(result):
        result = asyncio.run(result)
    assert result, f"ComfyUI failed to load the pack from {folder}"
    init_file = str(folder / "__init__.py")
    module = next(m for m in list(sys.modules.values()) if getattr(m, "__file__", None) == init_file)
    return module


@pytest.fixture(scope="session")
def inv_node(pack):
    """The FluxSculptorInversion node class, from the pack as ComfyUI loaded it."""
    return pack_module(pack, "nodes.inversion").FluxSculptorInversion


@pytest.fixture(scope="session")
def s2d_node(pack):
    """The FluxSculptorS2DECSampler node class, from the pack as ComfyUI loaded it."""
    return pack_module(pack, "nodes.s2dec").FluxSculptorS2DECSampler


@pytest.fixture(scope="session")
def tiny_flux(comfyui):
    from tiny_flux_pack.tiny_flux import build_tiny_flux

    return build_tiny_flux


@pytest.fixture(scope="session")
def tiny_cond():
    from tiny_flux_pack.tiny_flux import tiny_conditioning

    return tiny_conditioning


@pytest.fixture(scope="session")
def tiny_latent():
    from tiny_flux_pack.tiny_flux import tiny_latent as make

    return make


@pytest.fixture(scope="session")
def server(comfyui, tmp_path_factory):
    from comfy_server import ComfyServer

    srv = ComfyServer(
        COMFYUI,
        {"flux-sculptor": PACK_DIR, "flux_sculptor_tiny": TESTS_DIR / "tiny_flux_pack"},
        tmp_path_factory.mktemp("comfy_server"),
    )
    yield srv
    srv.stop()
