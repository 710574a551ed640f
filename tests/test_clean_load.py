"""Loading the pack is clean (issue 14): it patches nothing, and the server starts without errors.

In a fresh interpreter, the ComfyUI modules the pack imports are imported first; then every ComfyUI module's
attributes (module-level containers one level deep, and the attributes of classes defined there), a few
torch modules and classes, torch's global flags, os.environ and sys.path are fingerprinted before and after
ComfyUI's own `nodes.load_custom_node` loads the pack. The only allowed differences are ComfyUI's
registration of our nodes and the `pasl` models folder the PASL node registers (models/pasl, .safetensors).
This file doubles as that probe: `python tests/test_clean_load.py` prints the differences as JSON.
"""

from __future__ import annotations

import ast
import asyncio
import importlib
import inspect
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from helpers import PACK_NODE_IDS as NODE_IDS

PACK_DIR = Path(__file__).resolve().parent.parent
SKIP_NAMES = {"__builtins__", "__cached__", "__loader__", "__spec__", "__doc__", "__file__", "__path__"}
PRIMITIVES = (str, int, float, bool, bytes, type(None))


def fingerprint(value: object, depth: int) -> object:
    """Primitives by value, containers by content down to `depth`, anything else by identity."""
    if isinstance(value, PRIMITIVES):
        return repr(value)
    if depth > 0 and isinstance(value, dict):
        return {repr(k): fingerprint(v, depth - 1) for k, v in list(value.items())}
    if depth > 0 and isinstance(value, (list, tuple)):
        return [fingerprint(v, depth - 1) for v in value]
    if depth > 0 and isinstance(value, (set, frozenset)):
        return sorted(repr(v) for v in value)
    return f"id:{id(value)}"


def namespace(values: dict, module_name: str | None) -> dict:
    """name -> fingerprint for a module or class dict; classes defined in the module are opened too."""
    out = {}
    for name, value in list(values.items()):
        if name in SKIP_NAMES:
            continue
        out[name] = fingerprint(value, 2)
        if module_name and inspect.isclass(value) and value.__module__ == module_name:
            for attr, member in list(vars(value).items()):
                if attr not in ("__dict__", "__weakref__", "__doc__"):
                    out[f"{name}.{attr}"] = fingerprint(member, 1)
    return out


def snapshot(comfy_root: Path) -> dict:
    import torch

    state = {}
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(str(comfy_root)):
            state[name] = namespace(vars(module), name)
    for name in ("torch", "torch.nn.functional", "torch.backends.cuda", "torch.backends.cudnn"):
        state[name] = namespace(vars(sys.modules[name]), None)
    for cls in (torch.Tensor, torch.nn.Module):
        state[cls.__qualname__] = namespace(dict(vars(cls)), None)
    state["<globals>"] = {
        "default_dtype": repr(torch.get_default_dtype()),
        "grad_enabled": repr(torch.is_grad_enabled()),
        "inference_mode": repr(torch.is_inference_mode_enabled()),
        "num_threads": repr(torch.get_num_threads()),
        "tf32_matmul": repr(torch.backends.cuda.matmul.allow_tf32),
        "deterministic": repr(torch.are_deterministic_algorithms_enabled()),
        "sys.path": fingerprint(sys.path, 1),
        "os.environ": fingerprint(dict(os.environ), 1),
    }
    return state


def differences(before: dict, after: dict) -> list[str]:
    """'where: added|removed|changed' lines, dict containers reported key by key."""
    out = []
    for where in before:
        old, new = before[where], after.get(where, {})
        for name in sorted(set(old) | set(new)):
            a, b = old.get(name), new.get(name)
            if a == b:
                continue
            if isinstance(a, dict) and isinstance(b, dict):
                for key in sorted(set(a) | set(b)):
                    if a.get(key) != b.get(key):
                        kind = "added" if key not in a else "removed" if key not in b else "changed"
                        out.append(f"{where}.{name}[{key}]: {kind}")
            else:
                out.append(
                    f"{where}.{name}: {'added' if a is None else 'removed' if b is None else 'changed'}"
                )
    return out


def comfy_imports() -> set[str]:
    """Top-level-rooted module names the pack's runtime files import (relative imports excluded)."""
    names = set()
    for path in [
        PACK_DIR / "__init__.py",
        *PACK_DIR.glob("nodes/**/*.py"),
        *PACK_DIR.glob("sculptor/**/*.py"),
    ]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
    return names


def probe() -> dict:
    """Runs in a fresh interpreter: import ComfyUI and what the pack imports, load the pack, diff."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from comfy_home import import_comfyui

    root = import_comfyui()
    import comfy.model_management  # noqa: F401  (device set-up, as at server start)

    import nodes

    for name in sorted(comfy_imports()) + ["comfy_config.config_parser"]:
        top = name.split(".")[0]
        if (root / top).is_dir() or (root / f"{top}.py").is_file():
            importlib.import_module(name)
    before = snapshot(root)
    modules_before = set(sys.modules)
    folder = Path(tempfile.mkdtemp()) / "flux-sculptor"
    folder.symlink_to(PACK_DIR, target_is_directory=True)
    loaded = asyncio.run(nodes.load_custom_node(str(folder)))
    after = snapshot(root)
    new_comfy = sorted(
        n
        for n in set(sys.modules) - modules_before
        if str(getattr(sys.modules[n], "__file__", None) or "").startswith(str(root))
    )
    import folder_paths

    return {
        "loaded": bool(loaded),
        "differences": differences(before, after),
        "new_comfy_modules": new_comfy,
        "pasl": [
            list(folder_paths.folder_names_and_paths["pasl"][0]),
            sorted(folder_paths.folder_names_and_paths["pasl"][1]),
        ],
        "models_dir": folder_paths.models_dir,
    }


def test_loading_the_pack_changes_nothing_global(comfyui):
    env = dict(os.environ, FLUX_SCULPTOR_COMFYUI_RESOLVED=str(comfyui))
    run = subprocess.run([sys.executable, __file__], capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-4000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["loaded"], run.stderr[-4000:]
    assert report["new_comfy_modules"] == [], "the pack imported ComfyUI modules the probe did not snapshot"
    registered = {
        f"nodes.{table}[{node_id!r}]: added"
        for table in ("NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS")
        for node_id in NODE_IDS
    }
    allowed = registered | {
        "nodes.LOADED_MODULE_DIRS['flux-sculptor']: added",
        "folder_paths.folder_names_and_paths['pasl']: added",
        "folder_paths.filename_list_cache['pasl']: added",  # ComfyUI caches the COMBO's file list
    }
    diff = set(report["differences"])
    assert diff - allowed == set(), (
        f"loading the pack changed ComfyUI or torch state: {sorted(diff - allowed)}"
    )
    assert registered | {"folder_paths.folder_names_and_paths['pasl']: added"} <= diff
    assert report["pasl"] == [[os.path.join(report["models_dir"], "pasl")], [".safetensors"]]


def test_server_starts_without_errors(server):
    """The log up to 'To see the GUI' (a newcomer's first screen) has no ERROR and no failed import."""
    log = server.log()
    assert "To see the GUI go to" in log, log[-3000:]
    startup = log.split("To see the GUI go to")[0]
    bad = [line for line in startup.splitlines() if "ERROR" in line or "IMPORT FAILED" in line]
    assert bad == [], "\n".join(bad)


if __name__ == "__main__":
    print(json.dumps(probe()))
