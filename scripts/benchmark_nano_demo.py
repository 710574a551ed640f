"""Times the nano_demo_edit workflow through a real ComfyUI server on this machine (CPU, one thread).

    OMP_NUM_THREADS=1 python -m scripts.benchmark_nano_demo

Run 1 is a newcomer's first click (server up; loads Nano, MiniLM and PASL, inverts, edits, decodes, saves).
Run 2 changes both prompts, so the inversion and the edit run again with the models already loaded.
Wall seconds depend on the machine's load; the server process's CPU seconds (user + system) do much less.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from scripts.repo_paths import ROOT


def main() -> int:
    sys.path.insert(0, str(ROOT / "tests"))
    import psutil
    from comfy_home import comfyui_dir
    from comfy_server import ComfyServer
    from workflow_api import load, to_api

    with tempfile.TemporaryDirectory() as workdir:
        server = ComfyServer(comfyui_dir(), {"flux-sculptor": ROOT}, Path(workdir))
        try:
            prompt = to_api(load("nano_demo_edit"), server.object_info())
            process, times = psutil.Process(server.proc.pid), []
            for suffix in ("", "."):
                for node in prompt.values():
                    if node["class_type"] == "CLIPTextEncode":
                        node["inputs"]["text"] = node["inputs"]["text"].rstrip(".") + suffix
                start, cpu = time.monotonic(), sum(process.cpu_times()[:2])
                server.run(prompt, timeout=600)
                times.append((time.monotonic() - start, sum(process.cpu_times()[:2]) - cpu))
        finally:
            server.stop()
    for name, (wall, cpu) in zip(("first run", "rerun, both prompts changed"), times, strict=True):
        print(json.dumps({"run": name, "wall_s": round(wall, 2), "server_cpu_s": round(cpu, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
