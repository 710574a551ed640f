#!/usr/bin/env bash
# Starts ComfyUI with Flux-Sculptor loaded on http://127.0.0.1:8188 (the pinned ComfyUI, or the folder
# named by FLUX_SCULPTOR_COMFYUI). Put FLUX.1-dev files in that ComfyUI's models/ folders (see README).
# Extra arguments go to ComfyUI's main.py (e.g. `--port 8190`).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup_env.sh"

ensure_venv
COMFYUI_DIR="$(ensure_comfyui)"
ensure_pack_deps
NODES_DIR="$(custom_nodes_dir)"
CONFIG="$FS_HOME/extra_model_paths.yaml"
printf 'flux_sculptor:\n  base_path: %s\n  custom_nodes: %s\n' "$COMFYUI_DIR" "$NODES_DIR" > "$CONFIG"

DEVICE_ARGS=()
"$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" || DEVICE_ARGS=(--cpu)
log "models go in $COMFYUI_DIR/models/{diffusion_models,text_encoders,vae}"
PORT=8188
ARGS=("$@")
for ((i = 0; i + 1 < ${#ARGS[@]}; i++)); do
  if [ "${ARGS[i]}" = "--port" ]; then PORT="${ARGS[i + 1]}"; fi
done
log "starting ComfyUI on http://127.0.0.1:$PORT ${DEVICE_ARGS[*]}"
cd "$COMFYUI_DIR"
exec "$PY" main.py --listen 127.0.0.1 --port 8188 "${DEVICE_ARGS[@]}" --extra-model-paths-config "$CONFIG" "$@"
