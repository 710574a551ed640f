"""Tables, target checks, the image grid and the T-sweep plot of scripts/evaluate_edits.py.

Rows (one per face and case) carry `outside_psnr`, `outside_ssim`, `outside_psnr_source`, `effect`,
`identity` (edits) or `recon_psnr`, `recon_psnr_source`, `identity` (reconstruction); summaries are means
over faces with the standard error of the mean.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

METRICS = ("outside_psnr", "outside_ssim", "outside_psnr_source", "effect", "identity", "identity_source")


def stats(values: list[float]) -> dict:
    v = np.asarray(values, np.float64)
    sem = float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0
    return {"mean": round(float(v.mean()), 4), "sem": round(sem, 4), "n": len(v)}


def means(rows: list[dict], **match) -> dict:
    picked = [r for r in rows if all(r.get(k) == v for k, v in match.items())]
    return {m: stats([r[m] for r in picked]) for m in METRICS if picked and m in picked[0]}


def summarise(rows: list[dict], edits: dict, fusions: tuple, t_sweep: tuple, t: int) -> dict:
    recon = [r for r in rows if r["case"] == "reconstruction"]
    summary = {
        "faces": sorted({r["face"] for r in rows}),
        "reconstruction": {
            k: stats([r[k] for r in recon])
            for k in ("recon_psnr", "recon_psnr_source", "identity", "identity_source")
        },
        "ablation": {e: {f: means(rows, edit=e, fusion=f, T=t) for f in fusions} for e in edits},
        "t_sweep": {e: {str(s): means(rows, edit=e, fusion="s2d-ec", T=s) for s in t_sweep} for e in edits},
    }
    summary["reconstruction"]["recon_psnr"]["min"] = round(min(r["recon_psnr"] for r in recon), 2)
    summary["targets"] = targets(summary)
    return summary


def targets(summary: dict) -> list[dict]:
    """The issue's targets, each with the measured values and whether it is met."""
    rec = summary["reconstruction"]["recon_psnr"]["mean"]
    out = [
        {
            "target": "reconstruction PSNR >= 35 dB (vs autoencoder reconstruction)",
            "value": rec,
            "met": rec >= 35,
        }
    ]
    for edit, by in summary["ablation"].items():
        if not by["none"]:
            continue
        m = lambda f, k, by=by: by[f][k]["mean"]  # noqa: E731
        gain = m("s2d-ec", "outside_psnr") - m("none", "outside_psnr")
        eff, eff_none, sem = m("s2d-ec", "effect"), m("none", "effect"), by["s2d-ec"]["effect"]["sem"]
        ident, ident_none = m("s2d-ec", "identity"), m("none", "identity")
        out += [
            {
                "target": f"{edit}: outside PSNR s2d-ec - none >= 6 dB",
                "value": round(gain, 2),
                "met": gain >= 6,
            },
            {
                "target": f"{edit}: effect s2d-ec >= 50% of none's and clearly above 0 (> 2 SEM)",
                "value": f"{eff:.3f} vs none {eff_none:.3f} (SEM {sem:.3f})",
                "met": eff >= 0.5 * eff_none and eff > 2 * sem and eff > 0,
            },
            {
                "target": f"{edit}: identity distance s2d-ec <= none's",
                "value": f"{ident:.3f} vs none {ident_none:.3f}",
                "met": ident <= ident_none,
            },
            ordering(edit, by),
        ]
    return out


def ordering(edit: str, by: dict) -> dict:
    """Paper: latent fusion edits most, value fusion preserves most, s2d-ec in between."""
    eff = {f: by[f]["effect"]["mean"] for f in ("latent", "value", "s2d-ec")}
    keep = {f: by[f]["outside_psnr"]["mean"] for f in ("latent", "value", "s2d-ec")}
    strongest, best_kept = max(eff, key=eff.get), max(keep, key=keep.get)
    between = min(eff["latent"], eff["value"]) <= eff["s2d-ec"] <= max(eff["latent"], eff["value"])
    return {
        "target": f"{edit}: ordering latent strongest edit, value best preservation, s2d-ec between",
        "value": f"strongest edit: {strongest}; best preservation: {best_kept}; "
        f"s2d-ec effect between: {between}",
        "met": strongest == "latent" and best_kept == "value" and between,
    }


def cell(s: dict, key: str, digits: int = 2) -> str:
    return f"{s[key]['mean']:.{digits}f} ± {s[key]['sem']:.{digits}f}" if key in s else "-"


def write_markdown(summary: dict, path: Path) -> None:
    rec = summary["reconstruction"]
    lines = [
        "# Flux-Sculptor Nano: edit evaluation on held-out faces",
        "",
        f"{len(summary['faces'])} held-out faces ({', '.join(summary['faces'])}); means ± standard error. "
        "Command and settings: see nano_edits.json (`settings`).",
        "",
        f"Reconstruction (source prompt, fusion none, guidance 1): PSNR {cell(rec, 'recon_psnr')} dB against "
        f"the autoencoder's reconstruction (min {rec['recon_psnr']['min']}), "
        f"{cell(rec, 'recon_psnr_source')} dB against the source. Identity distance (dlib) to the face "
        f"through the autoencoder {cell(rec, 'identity', 3)}; the autoencoder alone moves it "
        f"{cell(rec, 'identity_source', 3)} from the source photo.",
        "",
        "| edit | fusion | outside PSNR (dB) | outside SSIM | outside PSNR vs source | effect | identity |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for edit, by in summary["ablation"].items():
        for fusion, s in by.items():
            row = [cell(s, "outside_psnr"), cell(s, "outside_ssim", 3), cell(s, "outside_psnr_source")]
            row += [cell(s, "effect", 3), cell(s, "identity", 3)]
            lines.append(f"| {edit} | {fusion} | " + " | ".join(row) + " |")
    lines += [
        "",
        "Fig. 8 sweep (s2d-ec, structure steps T):",
        "",
        "| edit | T | outside PSNR | effect | identity |",
    ]
    lines.append("| --- | --- | --- | --- | --- |")
    for edit, by in summary["t_sweep"].items():
        for t, s in by.items():
            row = [cell(s, "outside_psnr"), cell(s, "effect", 3), cell(s, "identity", 3)]
            lines.append(f"| {edit} | {t} | " + " | ".join(row) + " |")
    lines += ["", "| target | measured | met |", "| --- | --- | --- |"]
    lines += [
        f"| {t['target']} | {t['value']} | {'yes' if t['met'] else '**no**'} |" for t in summary["targets"]
    ]
    path.write_text("\n".join(lines) + "\n")


def write_grid(rows: list[dict], refs: dict, edits: dict, fusions: tuple, t: int, path: Path) -> None:
    """One face per edit row: source | none | latent | value | s2d-ec (T = t), 128 px tiles, labelled."""
    from PIL import Image, ImageDraw

    header, gap, size = 16, 4, 128
    labels = ["source", *fusions]
    picked = []
    for edit in edits:
        cases = [r for r in rows if r.get("edit") == edit and r["T"] == t]
        if cases:
            face = cases[0]["face"]
            by = {r["fusion"]: r["image"] for r in cases if r["face"] == face}
            picked.append((edit, [refs[face]["source"]] + [by[f] for f in fusions]))
    w, h = len(labels) * (size + gap) - gap, len(picked) * (size + header + gap)
    canvas = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (edit, tiles) in enumerate(picked):
        y = i * (size + header + gap)
        for j, tile in enumerate(tiles):
            x = j * (size + gap)
            text = edit if j == 0 else labels[j]
            draw.text((x + 2, y + 2), text, fill="black")
            canvas.paste(
                Image.fromarray((np.clip(tile, 0, 1) * 255).round().astype(np.uint8)), (x, y + header)
            )
    canvas.save(path)


def write_t_plot(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for edit, by in summary["t_sweep"].items():
        ts = [int(t) for t in by if by[t]]
        for ax, key in zip(axes, ("outside_psnr", "effect"), strict=True):
            ax.plot(ts, [by[str(t)][key]["mean"] for t in ts], marker="o", label=edit)
    for ax, title in zip(axes, ("outside PSNR (dB)", "effect inside the region"), strict=True):
        ax.set_xlabel("structure steps T (s2d-ec)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
