"""Training curves for Nano's trainers: one PNG, loss (log scale) and an optional held-out metric."""

from __future__ import annotations

import logging
from pathlib import Path


def plot_history(history: dict[str, list], path: Path, title: str, metric: str | None = None) -> None:
    """history: "step"/"loss" lists (and "eval_step"/metric lists); no matplotlib: a warning, no PNG."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        logging.warning("matplotlib is missing (pip install matplotlib): no training plot written")
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(history.get("step", []), history.get("loss", []), lw=0.8, label="training loss")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    if metric and history.get(metric):
        ax2 = ax.twinx()
        ax2.plot(history["eval_step"], history[metric], "o-", color="tab:red", ms=3, label=metric)
        ax2.set_ylabel(metric, color="tab:red")
    ax.set_title(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
