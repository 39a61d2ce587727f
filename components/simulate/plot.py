"""The run as a picture: goodput against offered load and capacity (top), the oldest message's
age per queue (bottom), the stack beside its naive baseline when both ran."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["plot"]


def plot(doc: dict[str, Any], path: str | Path) -> Path:
    """Write the PNG of ``doc`` (``simulate``'s result, with ``series``) to ``path``."""
    import matplotlib  # noqa: PLC0415 (heavy; only when a plot is asked for)

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt  # noqa: PLC0415

    runs = [doc, *([doc["naive"]] if "naive" in doc else [])]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 5.5), sharex=True, dpi=80)
    series = doc["series"]
    seconds = range(len(series["offered_rps"]))
    top.plot(seconds, series["offered_rps"], color="0.7", lw=1, label="offered (first attempts)")
    top.axhline(doc["capacity_rps"], color="0.3", ls=":", lw=1, label="capacity (plan)")
    for run, style in zip(runs, ("-", "--"), strict=False):
        top.plot(seconds, run["series"]["goodput_rps"], ls=style, lw=1.5, label=f"goodput, {run['model']}")
        for queue, ages in run["series"]["oldest_age_s"].items():
            bottom.plot(range(len(ages)), ages, ls=style, lw=1.2, label=f"{queue}, {run['model']}")
    top.set_ylabel("requests / s")
    top.set_yscale("symlog", linthresh=max(doc["capacity_rps"] / 10, 1))
    top.legend(fontsize=7, loc="upper right")
    top.set_title(f"{doc['stack']}: {doc['load']}", fontsize=10)
    bottom.set_ylabel("oldest message age (s)")
    bottom.set_xlabel("seconds")
    if bottom.lines:
        bottom.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out)
    plt.close(fig)
    return out
