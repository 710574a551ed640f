"""Flux-Sculptor: text-driven portrait editing for FLUX.1-dev (ComfyUI V3 node pack).

Importing this package only defines the extension; node modules, torch work and weights load when
ComfyUI asks for the node list or runs a node. On load, the Nano demo's portrait (demo/) is copied into
ComfyUI's input folder if it is not there yet.
"""

from comfy_api.latest import ComfyExtension, io


class FluxSculptorExtension(ComfyExtension):
    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        from .nodes import all_nodes
        from .nodes.demo_image import install_demo_image

        install_demo_image()  # here, not in on_load: ComfyUI 0.3.x does not call on_load
        return all_nodes()


async def comfy_entrypoint() -> FluxSculptorExtension:
    return FluxSculptorExtension()
