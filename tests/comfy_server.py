"""The real ComfyUI server in a subprocess, with the pack (and the tiny test pack) on its custom-node path."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ComfyServer:
    """`main.py --cpu` on 127.0.0.1:<free port>; talks to it over HTTP on loopback only."""

    def __init__(self, comfyui: Path, node_packs: dict[str, Path], workdir: Path) -> None:
        self.comfyui, self.workdir = comfyui, workdir
        self.port = free_port()
        custom = workdir / "custom_nodes"
        custom.mkdir(parents=True, exist_ok=True)
        for name, path in node_packs.items():
            (custom / name).symlink_to(path, target_is_directory=True)
        config = workdir / "extra_model_paths.yaml"
        config.write_text(f"flux_sculptor_tests:\n  base_path: {workdir}\n  custom_nodes: {custom}\n")
        for sub in ("input", "output", "temp", "user"):
            (workdir / sub).mkdir(exist_ok=True)
        self.log_path = workdir / "server.log"
        cmd = [
            sys.executable,
            "main.py",
            "--cpu",
            "--listen",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--disable-api-nodes",
            "--database-url",
            "sqlite:///:memory:",
            "--extra-model-paths-config",
            str(config),
            "--input-directory",
            str(workdir / "input"),
            "--output-directory",
            str(workdir / "output"),
            "--temp-directory",
            str(workdir / "temp"),
            "--user-directory",
            str(workdir / "user"),
        ]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, cwd=comfyui, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        self._wait_ready(timeout=600)  # ComfyUI 0.33 imports many more nodes: minutes on a loaded machine

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _wait_ready(self, timeout: float) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ComfyUI exited with {self.proc.returncode}:\n{self.log()[-4000:]}")
            try:
                self.request("GET", "/system_stats")
                return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"ComfyUI did not start in {timeout} s:\n{self.log()[-4000:]}")

    def request(self, method: str, path: str, body: dict | None = None, timeout: float = 60):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            raw = resp.read()
            if resp.status >= 400:
                raise RuntimeError(f"{method} {path} -> {resp.status}: {raw[:2000]!r}")
            ctype = resp.getheader("Content-Type", "")
            return json.loads(raw) if "json" in ctype else raw
        finally:
            conn.close()

    def object_info(self) -> dict:
        return self.request("GET", "/object_info")

    def queue(self, prompt: dict) -> str:
        return self.request("POST", "/prompt", {"prompt": prompt, "client_id": uuid.uuid4().hex})["prompt_id"]

    def wait(self, prompt_id: str, timeout: float = 300) -> dict:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            history = self.request("GET", f"/history/{prompt_id}")
            if prompt_id in history and "status" in history[prompt_id]:
                return history[prompt_id]  # ComfyUI writes history only once the prompt has finished
            time.sleep(0.2)
        raise TimeoutError(f"prompt {prompt_id} did not finish in {timeout} s:\n{self.log()[-3000:]}")

    def run(self, prompt: dict, timeout: float = 300) -> dict:
        """Queue an API-format prompt, wait, return its history entry; raise with ComfyUI's error message."""
        entry = self.wait(self.queue(prompt), timeout)
        status = entry["status"]
        if status.get("status_str") != "success":
            errors = [m for m in status.get("messages", []) if m[0] == "execution_error"]
            raise RuntimeError(f"prompt failed: {json.dumps(errors)[:4000]}")
        return entry

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._log.close()
