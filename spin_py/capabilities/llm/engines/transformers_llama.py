"""Hugging Face model folders (config.json, tokenizer.json, *.safetensors), as
Spin's newer layout `.spin/ai-models/<arch>/<name>/` holds them, through the
transformers library. The prompt goes in raw; only the continuation comes back.

transformers has no window for its repetition penalty, so
repeat_penalty_last_n_token_count is not applied here (llama.cpp applies it).
"""

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from spin_py.capabilities.llm.engines.base import InferencingParams, InferencingResult
from spin_py.capabilities.llm.engines.llama_cpp import SEED


class _Pulse:
    """A transformers streamer that only says work advanced (the model process's progress), and
    when the first token came."""

    def __init__(self, progress: Callable[[], None] | None, first_token: Callable[[], None] | None) -> None:
        self.progress = progress
        self.first_token = first_token
        self.puts = 0

    def put(self, value: Any) -> None:
        # transformers puts the prompt's tokens first, then each generated token.
        self.puts += 1
        if self.puts == 2 and self.first_token is not None:
            self.first_token()
        if self.progress is not None:
            self.progress()

    def end(self) -> None:
        pass


class TransformersEngine:
    def __init__(self, folder: str | os.PathLike[str]) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.folder = Path(folder)
        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.folder), local_files_only=True)
        self.model = AutoModelForCausalLM.from_pretrained(str(self.folder), local_files_only=True)
        self.model.eval()
        self._lock = threading.Lock()

    def infer(self, prompt: str, params: InferencingParams, progress: Callable[[], None] | None = None,
              first_token: Callable[[], None] | None = None) -> InferencingResult:
        """``progress()`` as work advances, ``first_token()`` once the first token is generated."""
        torch = self.torch
        inputs = self.tokenizer(prompt, return_tensors="pt")
        prompt_tokens = int(inputs["input_ids"].shape[1])
        if params.max_tokens == 0:
            return InferencingResult("", prompt_tokens, 0)
        sampling = params.temperature > 0
        options: dict[str, Any] = dict(max_new_tokens=params.max_tokens, repetition_penalty=params.repeat_penalty,
                                       do_sample=sampling)
        if progress is not None or first_token is not None:
            options["streamer"] = _Pulse(progress, first_token)
        if sampling:
            options.update(temperature=params.temperature, top_k=params.top_k, top_p=params.top_p)
        with self._lock, torch.inference_mode():
            torch.manual_seed(SEED)
            output = self.model.generate(**inputs, **options, pad_token_id=self.tokenizer.eos_token_id)
        generated = output[0][prompt_tokens:]
        text = self.tokenizer.decode(generated, skip_special_tokens=True)
        return InferencingResult(str(text), prompt_tokens, len(generated))
