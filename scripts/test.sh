#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: sets up the venv, torch, a real ComfyUI, the dataset venv,
# Chromium for the browser tests, then pytest, once per ComfyUI: the pinned 0.3.75, then 0.33.0 in its
# own venv when its snapshot (../shared/comfyui/comfyui-0.33.0.tar.gz, or FLUX_SCULPTOR_SHARED) exists.
# FLUX_SCULPTOR_COMFYUI=/path runs only that ComfyUI; FLUX_SCULPTOR_VERSIONS=0.3.75 (or 0.33.0) only one
# of the two. Extra arguments go to pytest (e.g. `bash scripts/test.sh -k inversion`). Exit status: the
# first non-zero pytest status, so a failure in either run fails the script.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup_env.sh"

VERSIONS="${FLUX_SCULPTOR_VERSIONS:-0.3.75 $COMPAT_VERSION}"
wants() { [[ " $VERSIONS " == *" $1 "* ]]; }

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
export FLUX_SCULPTOR_DATA_PYTHON="$DATA_VENV/bin/python"
cd "$PACK_DIR"
if ! "$VENV/bin/ruff" format --check --quiet .; then
  log "these files are not formatted with ruff (line length 110, pyproject [tool.ruff]):"
  "$VENV/bin/ruff" format --check . || true
  log "run: $VENV/bin/ruff format .   (then re-run the tests)"
  exit 1
fi

FAILED=0
SUMMARY=()
# Runs pytest with the selected venv's Python against the ComfyUI folder $1; pytest arguments follow.
run_suite() {
  local dir="$1" version rc=0
  shift
  version="$("$PY" -c "import sys; sys.path.insert(0, sys.argv[1]); import comfyui_version as v; print(v.__version__)" \
    "$dir" 2>/dev/null || echo unknown)"
  log "ComfyUI $version: $dir (Python: $PY)"
  FLUX_SCULPTOR_COMFYUI_RESOLVED="$dir" "$PY" -m pytest "$@" || rc=$?
  SUMMARY+=("ComfyUI $version: pytest exit status $rc")
  if [ "$FAILED" -eq 0 ]; then FAILED="$rc"; fi
}

if [ -n "${FLUX_SCULPTOR_COMFYUI:-}" ]; then
  run_suite "$COMFYUI_DIR" "$@"
else
  if wants 0.3.75; then run_suite "$COMFYUI_DIR" "$@"; fi
  if ! wants "$COMPAT_VERSION"; then
    :
  elif [ -f "$COMPAT_TARBALL" ]; then
    ensure_compat_comfyui
    ensure_pack_deps test
    run_suite "$COMPAT_COMFYUI" "$@"
  else
    SUMMARY+=("ComfyUI $COMPAT_VERSION: SKIPPED, no snapshot at $COMPAT_TARBALL (set FLUX_SCULPTOR_SHARED)")
  fi
fi
if [ "${#SUMMARY[@]}" -eq 0 ]; then
  log "FLUX_SCULPTOR_VERSIONS=$VERSIONS names neither 0.3.75 nor $COMPAT_VERSION: nothing ran"
  exit 2
fi
for line in "${SUMMARY[@]}"; do log "$line"; done
exit "$FAILED"
