"""The Flux-Sculptor method in plain torch (no ComfyUI imports): solver, fusion, value store, PASL."""
