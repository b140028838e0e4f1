"""The night's merged run: one ordinary run in the results store (`<stamp>-farm-<farm>`) that holds
every place's images as `<image>@<place>`, each with its own target and target uid (the board it
ran on) and the place run it came from; so `bench show`, `bench compare` (night against night:
the keys match) and `bench report` read a whole night at once. Built through the store's Run calls;
the place runs stay as they are (their logs, their resume state)."""

from __future__ import annotations

from typing import Any

from bench.results.store import Run, now_iso


def _copy_image(src: Run, image: str, dst: Run, key: str) -> None:
    hello = src.read_hello(image)
    if hello is not None:
        dst.write_hello(key, hello)
    rate = int((hello or {}).get("sample_rate", 16000))
    for utt in sorted(src.done_utterances(image)):
        dst.write_frames(key, utt, src.frames_of(image, utt))
        try:
            dst.write_audio(key, utt, src.read_audio(image, utt), rate)
        except Exception:  # noqa: BLE001 - a missing WAV loses the audio, not the counts
            pass
    summary = src.read_summary(image)
    if summary is not None:
        dst.write_summary(key, summary)
    comparison = src.read_comparison(image)
    if comparison is not None:
        dst.write_comparison(key, src.read_metrics(image) or [], src.read_fidelity(image) or [], comparison)
    view = src.read_view(image)
    if view is not None:
        dst.write_view(key, str(view.pop("family", "")), view)


def merge_night(run_id: str, places: list[dict[str, Any]]) -> str | None:
    """Write the merged run of a night's place results (farm.json's "places"); its run id, or None
    when no place produced a run."""
    sources = [(r, Run.open(r["run_id"])) for r in places if r.get("run_id")]
    if not sources:
        return None
    dst = Run.create(run_id)
    first = sources[0][1].read_meta()
    meta: dict[str, Any] = {
        "run_id": run_id, "started": min(s.read_meta()["started"] for _, s in sources), "finished": now_iso(),
        "status": "done" if all(r["status"] == "done" for r, _ in sources) else "failed",
        "reason": None, "target": first["target"], "options": first.get("options", {}),
        "provenance": first.get("provenance", {}), "farm_merged": True, "images": {},
    }
    for r, src in sources:
        smeta = src.read_meta()
        for image, im in smeta["images"].items():
            key = f"{image}@{r['place']}"
            _copy_image(src, image, dst, key)
            meta["images"][key] = {**im, "place": r["place"], "from_run": r["run_id"], "target": smeta["target"]}
    dst.write_meta(meta)
    return run_id
