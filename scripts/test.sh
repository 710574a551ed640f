#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: sets up the venv, torch, a real ComfyUI (pinned, or
# FLUX_SCULPTOR_COMFYUI), the dataset venv, Chromium for the browser tests, then pytest. Extra
# arguments go to pytest (e.g. `bash scripts/test.sh -k inversion`).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup_env.sh"

ensure_venv
COMFYUI_DIR="$(ensure_comfyui)"
ensure_pack_deps test
ensure_data_venv
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    log "installing Debian's chromium for the browser tests"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || log "chromium could not be installed: browser tests will fail"
  else
    log "chromium is missing and this is not root: install Debian's chromium for the browser tests"
  fi
fi

# One torch/OpenMP thread per process: the suite runs tiny models in several processes (pytest and the
# ComfyUI servers); on a 2-core machine torch's default threads spin against each other (measured: one tiny
# Flux call 2.3 s with default threads vs 31 ms with 1 under load).
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
export FLUX_SCULPTOR_COMFYUI_RESOLVED="$COMFYUI_DIR"
export FLUX_SCULPTOR_DATA_PYTHON="$DATA_VENV/bin/python"
cd "$PACK_DIR"
if ! "$VENV/bin/ruff" format --check --quiet .; then
  log "these files are not formatted with ruff (line length 110, pyproject [tool.ruff]):"
  "$VENV/bin/ruff" format --check . || true
  log "run: $VENV/bin/ruff format .   (then re-run the tests)"
  exit 1
fi
log "ComfyUI: $COMFYUI_DIR ($("$PY" -c "import sys; sys.path.insert(0, '$COMFYUI_DIR'); import comfyui_version; print(comfyui_version.__version__)" 2>/dev/null || echo unknown))"
exec "$PY" -m pytest "$@"
