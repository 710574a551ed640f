"""Saved inversions (issue 15, item 3): Save / Load Inversion nodes on tiny Flux in the real ComfyUI."""

import os
import pickle

import pytest
import torch
from helpers import half_mask, pack_module

STEPS = 5


@pytest.fixture(scope="module")
def saved(pack):
    return pack_module(pack, "nodes.saved_inversions")


@pytest.fixture(scope="module")
def output_dir(comfyui, tmp_path_factory):
    import folder_paths

    before = folder_paths.get_output_directory()
    folder = tmp_path_factory.mktemp("output")
    folder_paths.set_output_directory(str(folder))
    yield folder
    folder_paths.set_output_directory(before)


@pytest.fixture(scope="module")
def setup(pack, tiny_flux, tiny_cond, tiny_latent):
    runs = pack_module(pack, "nodes.editing_runs")
    return runs, tiny_flux(seed=0, weight_scale=0.25), tiny_cond(0), tiny_cond(1), tiny_latent(0)


def invert(setup, **kw):
    runs, model, source, _, latent = setup
    settings = {"steps": STEPS, "guidance": 1.0, "value_blocks": 2, "store": "cpu", **kw}
    return runs.run_inversion(model, latent, source, preview=False, **settings)


def edit(setup, inv, model=None):
    runs, default_model, _, target, _ = setup
    return runs.run_edit(
        model or default_model, inv, target, mask=half_mask(), structure_steps=2, guidance=2.0, preview=False
    )


def save(saved, inv, model, prefix="inversion") -> str:
    return saved.FluxSculptorSaveInversion.execute(inversion=inv, model=model, filename_prefix=prefix).result[
        0
    ]


def load(saved, model, name, latent=None):
    return saved.FluxSculptorLoadInversion.execute(model=model, file=name, latent=latent).result


@pytest.mark.parametrize(
    "settings",
    [
        {"store": "cpu"},
        {"store": "recompute"},
        {"store": "cpu", "record_from_step": 2, "store_dtype": torch.int8},
    ],
)
def test_saved_then_loaded_inversion_gives_the_same_edit_bit_for_bit(saved, setup, output_dir, settings):
    model, latent = setup[1], setup[4]
    inv = invert(setup, **settings)
    name = save(saved, inv, model, "portraits/a")
    assert name.startswith("portraits/a_") and (output_dir / saved.FOLDER / name).is_file()
    assert name in saved.saved_files()
    loaded, noise = load(saved, model, name, latent)
    assert torch.equal(noise["samples"], inv.noise_samples)
    assert loaded.store.mode == inv.store.mode and loaded.record_from_step == inv.record_from_step
    assert torch.equal(edit(setup, loaded), edit(setup, inv))


def test_metadata_and_recompute_files_are_small(pack, saved, setup, output_dir):
    file = pack_module(pack, "sculptor.inversion_file")
    model = setup[1]
    sizes = {}
    for store in ("cpu", "recompute"):
        path = output_dir / saved.FOLDER / save(saved, invert(setup, store=store), model, store)
        sizes[store] = path.stat().st_size
        meta = file.read_metadata(path)
        assert meta["store"] == store and meta["steps"] == str(STEPS) and meta["solver"] == "rf_solver"
        assert meta["size"] == "[1, 16, 16, 16]" and meta["value_blocks"] == "[2, 3]"
        assert meta["model_fingerprint"] == pack_module(pack, "nodes.model_fingerprint").model_fingerprint(
            model
        )
    assert sizes["recompute"] < sizes["cpu"]


def test_fingerprint_is_stable_across_loads_and_sees_weights_and_loras(pack, tiny_flux):
    module = pack_module(pack, "nodes.model_fingerprint")
    fingerprint = module.model_fingerprint
    model = tiny_flux(seed=0, weight_scale=0.25)
    assert fingerprint(model) == fingerprint(tiny_flux(seed=0, weight_scale=0.25))  # the same weights again
    assert fingerprint(model) != fingerprint(tiny_flux(seed=1, weight_scale=0.25))
    names = list(model.model.diffusion_model.state_dict())
    sampled = names[:: max(len(names) // module.SAMPLED_TENSORS, 1)][: module.SAMPLED_TENSORS]
    key = "diffusion_model." + next(n for n in sampled if n.endswith(".weight"))
    lora = model.clone()
    before = lora.model.state_dict()[key].clone()
    lora.add_patches({key: (torch.full_like(before, 1e-3),)}, 0.5)
    unloaded = fingerprint(lora)
    assert unloaded != fingerprint(model)
    lora.patch_model()  # the LoRA merged into the weights in place, as while sampling
    try:
        assert not torch.equal(lora.model.state_dict()[key], before)
        assert fingerprint(lora) == unloaded
    finally:
        lora.unpatch_model()
    assert torch.equal(lora.model.state_dict()[key], before) and fingerprint(lora) == unloaded


def test_a_different_model_or_latent_is_refused(saved, setup, tiny_flux, tiny_latent, output_dir):
    model = setup[1]
    name = save(saved, invert(setup), model, "refuse")
    with pytest.raises(ValueError, match="another MODEL"):
        load(saved, tiny_flux(seed=1, weight_scale=0.25), name)
    with pytest.raises(ValueError, match="differs from the one"):
        load(saved, model, name, tiny_latent(5))
    with pytest.raises(ValueError, match="shape"):
        load(saved, model, name, tiny_latent(0, height=8, width=8))
    same_weights = tiny_flux(seed=0, weight_scale=0.25)  # a later session: the same file loaded again
    inv, _ = load(saved, same_weights, name, setup[4])
    assert torch.isfinite(edit(setup, inv, same_weights)).all()


def test_no_path_traversal(saved, setup, output_dir):
    model, inv = setup[1], invert(setup)
    for prefix in ("../escape", "/tmp/escape", "a/../../escape", ""):
        with pytest.raises(ValueError, match="filename_prefix"):
            save(saved, inv, model, prefix)
    outside = output_dir / "outside.safetensors"
    outside.write_bytes(b"")
    for name in ("../outside.safetensors", str(outside)):
        with pytest.raises(ValueError, match="not among the files"):
            load(saved, model, name)
    assert (
        not list(output_dir.glob("escape*")) and not (output_dir.parent / "escape_00001.safetensors").exists()
    )


class Payload:
    """Unpickling this creates a file: proof that a loader ran pickle."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_no_pickle_is_ever_loaded(saved, setup, output_dir, tmp_path):
    folder = output_dir / saved.FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    marker = tmp_path / "pickle_ran"
    (folder / "evil.safetensors").write_bytes(pickle.dumps(Payload(str(marker))))
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        load(saved, setup[1], "evil.safetensors")
    assert not os.path.exists(marker)
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(1)}, str(folder / "other.safetensors"))
    with pytest.raises(ValueError, match="not a Flux-Sculptor inversion"):
        load(saved, setup[1], "other.safetensors")
