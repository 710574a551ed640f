"""Security (issue 8): weights load only through safetensors, the PASL weights COMBO is the only way to
name a file, and nothing opens a network connection at run time."""

from __future__ import annotations

import pickle
import re
import socket
from pathlib import Path

import pytest
import torch
from comfy_home import PACK_DIR
from helpers import pack_module

RUNTIME = [
    PACK_DIR / "__init__.py",
    *sorted((PACK_DIR / "nodes").glob("*.py")),
    *sorted((PACK_DIR / "sculptor").glob("*.py")),
]
UNSAFE_LOADS = re.compile(
    r"\btorch\.load\b|\bimport pickle\b|\bpickle\.|\bcPickle\b|\bdill\b|\bjoblib\b|"
    r"allow_pickle\s*=\s*True|torch\.jit\.load|trust_remote_code\s*=\s*True|"
    r"weights_only\s*=\s*False"
)
NETWORK = re.compile(
    r"\bimport (socket|urllib|requests|httpx|aiohttp)\b|"
    r"\bfrom (urllib|requests|httpx|aiohttp)\b|"
    r"http\.client|hf_hub_download|snapshot_download|pretrained\s*=\s*True"
)


def test_no_unsafe_deserialisation_or_network_code_in_the_pack():
    """Grep over every .py file of the pack (scripts included for unsafe loads; the runtime for network)."""
    files = [
        p
        for p in PACK_DIR.rglob("*.py")
        if "tests" not in p.relative_to(PACK_DIR).parts
        and not any(part.startswith(".") for part in p.relative_to(PACK_DIR).parts)
    ]
    assert len(files) >= len(RUNTIME) > 5
    unsafe = [
        f"{p.relative_to(PACK_DIR)}:{i}"
        for p in files
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if UNSAFE_LOADS.search(line)
    ]
    assert not unsafe, f"unsafe deserialisation: {unsafe}"
    network = [
        f"{p.relative_to(PACK_DIR)}:{i}"
        for p in RUNTIME
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if NETWORK.search(line)
    ]
    assert not network, f"network code in the runtime: {network}"
    for path in RUNTIME:  # Hugging Face loaders must stay offline
        for call in re.findall(r"from_pretrained\([^)]*\)", path.read_text()):
            assert "local_files_only=True" in call, f"{path.name}: {call}"


class Exploit:
    """Unpickling this runs code: it would create the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.fixture(scope="module")
def pasl_folder(pack, tmp_path_factory) -> Path:
    """An extra models/pasl folder with valid random weights, a pickle exploit named .safetensors, a
    truncated file and a safetensors file that is not PASL weights."""
    import folder_paths
    from safetensors.torch import save_file

    pasl = pack_module(pack, "sculptor.pasl")
    folder = tmp_path_factory.mktemp("security_pasl")
    folder_paths.add_model_folder_path("pasl", str(folder))
    torch.manual_seed(0)
    pasl.save_pasl(pasl.PASL(pasl.PASLConfig(resolution=64)), folder / "good.safetensors")
    with open(folder / "exploit.safetensors", "wb") as f:
        pickle.dump({"state_dict": Exploit(folder / "PWNED")}, f)
    pickle.loads(pickle.dumps(Exploit(folder / "armed")))  # the exploit is real: unpickling runs it
    assert (folder / "armed").exists()
    data = (folder / "good.safetensors").read_bytes()
    (folder / "truncated.safetensors").write_bytes(data[: len(data) // 2])
    save_file({"w": torch.zeros(2)}, str(folder / "other.safetensors"), metadata={"format": "pt"})
    outside = tmp_path_factory.mktemp("elsewhere")
    pasl.save_pasl(pasl.PASL(pasl.PASLConfig(resolution=64)), outside / "outside.safetensors")
    return folder


@pytest.fixture(scope="module")
def pasl_node(pack):
    return pack_module(pack, "nodes.pasl")


def run_pasl(pasl_node, weights: str, prompt: str = "hair"):
    return pasl_node.FluxSculptorPASLMask.execute(
        image=torch.rand(1, 32, 32, 3), prompt=prompt, weights=weights
    ).result


@pytest.mark.parametrize(
    "name, message",
    [
        ("exploit.safetensors", "not a readable safetensors file"),
        ("truncated.safetensors", "not a readable safetensors file.*truncated"),
        ("other.safetensors", "not PASL weights"),
    ],
)
def test_bad_weight_files_are_refused_without_unpickling(pasl_node, pasl_folder, name, message):
    assert name in pasl_node.weight_options()  # listed (right extension), refused on load
    with pytest.raises(ValueError, match=message):
        run_pasl(pasl_node, name)
    assert not (pasl_folder / "PWNED").exists()


def test_weights_combo_is_the_only_way_to_name_a_file(pasl_node, pasl_folder):
    schema = pasl_node.FluxSculptorPASLMask.define_schema()
    combo = next(i for i in schema.inputs if i.id == "weights")
    assert list(combo.options) == pasl_node.weight_options()
    for name in combo.options:
        assert Path(name).name == name and name.endswith(".safetensors")
        path = pasl_node.resolve_weights(name).resolve()
        assert path.is_file()
    outside = next(Path(pasl_folder).parent.glob("elsewhere*/outside.safetensors")).resolve()
    for name in (
        str(outside),
        f"../{outside.parent.name}/outside.safetensors",
        "good.safetensors/../good.safetensors",
        "./good.safetensors",
        "GOOD.safetensors",
        str(pasl_folder / "good.safetensors"),
    ):
        with pytest.raises(ValueError, match="not among the available files"):
            run_pasl(pasl_node, name)
    assert run_pasl(pasl_node, "good.safetensors")[0].shape == (1, 32, 32)


@pytest.mark.server
def test_server_rejects_weights_outside_the_combo(server):
    prompt = {
        "image": {
            "class_type": "FluxSculptorTestTinyImage",
            "inputs": {"seed": 0, "height": 32, "width": 32, "painted": True},
        },
        "pasl": {
            "class_type": "FluxSculptorPASLMask",
            "inputs": {"image": ["image", 0], "prompt": "hair", "weights": "../../../etc/passwd"},
        },
        "stats": {"class_type": "FluxSculptorTestMaskStats", "inputs": {"mask": ["pasl", 0]}},
    }
    try:
        prompt_id = server.queue(prompt)
    except RuntimeError as err:  # ComfyUI builds that validate V3 COMBO values refuse the prompt itself
        assert "value_not_in_list" in str(err)
        return
    entry = server.wait(prompt_id)  # 0.3.75 does not check V3 COMBO values: the node must refuse it
    errors = [m[1] for m in entry["status"]["messages"] if m[0] == "execution_error"]
    assert errors and errors[0]["node_type"] == "FluxSculptorPASLMask"
    assert "not among the available files" in errors[0]["exception_message"]


def test_a_full_edit_and_pasl_mask_open_no_connection(
    pack, pasl_node, pasl_folder, monkeypatch, tiny_flux, tiny_cond, tiny_latent
):
    """Sockets and unsafe loaders are blocked while the text encoder and the PASL weights load from scratch,
    a mask is located, and an inversion and an S2D-EC edit run."""
    attempts: list[str] = []

    def refuse(name: str):
        def blocked(*args, **kwargs):
            attempts.append(name)
            raise OSError(f"network access blocked by the test: {name}")

        return blocked

    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
    monkeypatch.setattr(socket, "create_connection", refuse("socket.create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("socket.getaddrinfo"))
    monkeypatch.setattr(torch, "load", refuse("torch.load"))
    monkeypatch.setattr(pickle, "load", refuse("pickle.load"))
    monkeypatch.setattr(pickle, "loads", refuse("pickle.loads"))
    with pytest.raises(OSError, match="blocked"):
        socket.create_connection(("127.0.0.1", 9))  # the block is in place
    attempts.clear()

    pack_module(pack, "sculptor.text_features")._minilm.cache_clear()
    pasl_node._load_cached.cache_clear()
    mask, sub_masks = run_pasl(pasl_node, "good.safetensors", prompt="hair; lips")
    model, source, target = tiny_flux(seed=0, depth=1, depth_single=2), tiny_cond(0), tiny_cond(1)
    inversion = (
        pack_module(pack, "nodes.inversion")
        .FluxSculptorInversion.execute(
            model=model,
            latent=tiny_latent(0),
            conditioning=source,
            steps=3,
            guidance=1.0,
            value_blocks=2,
            store="cpu",
        )
        .result[0]
    )
    out = (
        pack_module(pack, "nodes.s2dec")
        .FluxSculptorS2DECSampler.execute(
            model=model,
            inversion=inversion,
            conditioning=target,
            structure_steps=1,
            guidance=2.0,
            fusion="s2d-ec",
            source_path="inversion",
            mask=torch.nn.functional.interpolate(mask[None], size=(128, 128))[0],
        )
        .result[0]["samples"]
    )
    assert not attempts, attempts
    assert sub_masks.shape == (2, 32, 32) and out.shape == (1, 16, 16, 16) and torch.isfinite(out).all()
