"""Nano's autoencoder trainer (a few steps on tiny data) and its export through ComfyUI's own VAELoader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from test_nano_dataset import fake_pasl

from scripts.nano.build_dataset import build
from scripts.nano.checkpoint import load_checkpoint, read_state
from scripts.nano.train_ae import build_taesd, load_images
from scripts.nano.train_ae import main as ae_main


@pytest.fixture(scope="module")
def trained(comfyui, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("nano_ae")
    data = folder / "faces.npz"
    np.savez(data, **build(fake_pasl(3), variants=1, top=20))
    ckpt, out = folder / "ae.safetensors", folder / "vae" / "nano_taesd.safetensors"
    common = [
        "--data",
        str(data),
        "--ckpt",
        str(ckpt),
        "--batch",
        "2",
        "--crop",
        "32",
        "--eval-every",
        "1",
        "--eval-images",
        "1",
        "--log-every",
        "1",
        "--warmup",
        "1",
    ]
    ae_main(common + ["--total-steps", "2"])
    ae_main(common + ["--total-steps", "3", "--resume"])
    ae_main(["--data", str(data), "--ckpt", str(ckpt), "--export", "--out", str(out)])
    return {"data": data, "ckpt": ckpt, "vae": out}


def test_training_resumes_and_records_history(trained) -> None:
    state = read_state(trained["ckpt"])
    assert state["step"] == 3
    assert state["history"]["step"] == [1, 2, 3] and len(state["history"]["psnr"]) == 3
    assert all(np.isfinite(state["history"]["loss"]))
    assert (trained["ckpt"].parent / "nano_ae_training.png").is_file()


def test_export_loads_through_vaeloader_and_round_trips(trained) -> None:
    """VAELoader -> VAEEncode -> VAEDecode equals the trainer's own decode(encode(x)) (fp16 weights), and
    the exported scale/shift hand Flux standardised latents (mean 0, std 1 on the statistics' images)."""
    import comfy.latent_formats
    import folder_paths

    import nodes

    folder_paths.add_model_folder_path("vae", str(trained["vae"].parent))
    (vae,) = nodes.VAELoader().load_vae(trained["vae"].name)
    images = load_images(trained["data"], held_out=False, unedited_only=True)
    pixels = images.permute(0, 2, 3, 1).float() / 255
    (latent,) = nodes.VAEEncode().encode(vae, pixels)
    assert latent["samples"].shape == (len(images), 16, 16, 16)
    (decoded,) = nodes.VAEDecode().decode(vae, latent)
    assert decoded.shape == pixels.shape

    model = build_taesd()
    load_checkpoint(trained["ckpt"], model, None)
    with torch.no_grad():
        own = model.taesd_decoder(model.taesd_encoder(pixels.permute(0, 3, 1, 2))).clamp(0, 1)
    assert (decoded.permute(0, 3, 1, 2) - own).abs().max() < 0.02
    flux_in = comfy.latent_formats.Flux().process_in(latent["samples"].detach().float())
    assert abs(float(flux_in.mean())) < 0.02 and abs(float(flux_in.std()) - 1) < 0.02


def test_encode_latents_matches_vaeencode_plus_flux_latent_format(trained) -> None:
    """Rows kept: each face's original and first edited copies; values: VAEEncode then process_in."""
    import comfy.latent_formats

    import nodes
    from scripts.nano.encode_latents import encode, load_vae, select_rows

    face = np.array([0, 0, 0, 1, 1, 1, 2])
    assert list(select_rows(face, 1)) == [0, 1, 3, 4, 6]
    with np.load(trained["data"], allow_pickle=False) as f:
        images = f["images"][:3]
    vae = load_vae(trained["vae"])
    ours = encode(vae, images, batch=2)
    (latent,) = nodes.VAEEncode().encode(vae, torch.from_numpy(images).float() / 255)
    assert torch.allclose(ours, comfy.latent_formats.Flux().process_in(latent["samples"].float()), atol=1e-5)


def test_lips_weight_trains_the_decoder_only_and_weights_the_lips(trained, tmp_path: Path) -> None:
    """--lips-weight adds the lips mask (moved with each crop) as loss weight; with --freeze-encoder the
    encoder stays bit for bit, so a Flux trained on its latents stays valid."""
    from scripts.nano.train_ae import ae_loss, load_region

    data = trained["data"]
    lips = load_region(data, False, "lips")
    assert lips.shape == (len(load_images(data, False)), 1, 128, 128) and set(lips.unique().tolist()) == {
        0,
        255,
    }
    with np.load(data) as f:
        first = int(np.flatnonzero(~f["holdout"][f["face"]])[0])
        k = list(f["regions"]).index("lips")
        want = np.unpackbits(f["masks"][f["face"][first], k], axis=-1)[:, :128]
    assert torch.equal(lips[0, 0], torch.from_numpy(want * np.uint8(255)))

    class Shift(torch.nn.Module):  # decode(encode(x)) = x + 0.1 on the left half only
        taesd_encoder = torch.nn.Identity()

        def taesd_decoder(self, z):
            out = z.clone()
            out[..., :8] += 0.1
            return out

    x = torch.rand(2, 3, 16, 16)
    w = torch.ones(2, 1, 16, 16)
    plain, _ = ae_loss(Shift(), x, 0.0)
    assert torch.allclose(ae_loss(Shift(), x, 0.0, w * 3)[0], plain), "uniform weights change nothing"
    w[..., :8] = 5.0
    assert float(ae_loss(Shift(), x, 0.0, w)[0]) > float(plain), "errors under heavy weight count more"

    ckpt = tmp_path / "ae.safetensors"
    ckpt.write_bytes(trained["ckpt"].read_bytes())
    before = build_taesd()
    load_checkpoint(ckpt, before, None)
    args = ["--data", str(data), "--ckpt", str(ckpt), "--batch", "2", "--crop", "32", "--resume"]
    ae_main(args + ["--total-steps", "5", "--freeze-encoder", "--lips-weight", "8", "--eval-every", "100"])
    after = build_taesd()
    assert read_state(ckpt)["step"] == 5
    load_checkpoint(ckpt, after, None)

    def same(part: str) -> list[bool]:
        a, b = getattr(before, part).state_dict(), getattr(after, part).state_dict()
        return [torch.equal(a[k], b[k]) for k in a]

    assert all(same("taesd_encoder")) and not all(same("taesd_decoder"))
