"""Hugging Face model folders (config.json, tokenizer.json, *.safetensors), as
Spin's newer layout `.spin/ai-models/<arch>/<name>/` holds them, through the
transformers library. The prompt goes in raw; only the continuation comes back.

transformers has no window for its repetition penalty, so
repeat_penalty_last_n_token_count is not applied here (llama.cpp applies it).
"""

import threading
from pathlib import Path

from spin_py.capabilities.llm.engines.base import InferencingResult
from spin_py.capabilities.llm.engines.llama_cpp import SEED


class _Pulse:
    """A transformers streamer that only says work advanced (the model process's progress)."""

    def __init__(self, progress):
        self.put = lambda value: progress()
        self.end = lambda: None


class TransformersEngine:
    def __init__(self, folder):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.folder = Path(folder)
        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.folder), local_files_only=True)
        self.model = AutoModelForCausalLM.from_pretrained(str(self.folder), local_files_only=True)
        self.model.eval()
        self._lock = threading.Lock()

    def infer(self, prompt, params, progress=None):
        """``progress()`` after each generated token."""
        torch = self.torch
        inputs = self.tokenizer(prompt, return_tensors="pt")
        prompt_tokens = int(inputs["input_ids"].shape[1])
        if params.max_tokens == 0:
            return InferencingResult("", prompt_tokens, 0)
        sampling = params.temperature > 0
        options = dict(max_new_tokens=params.max_tokens, repetition_penalty=params.repeat_penalty, do_sample=sampling)
        if progress is not None:
            options["streamer"] = _Pulse(progress)
        if sampling:
            options.update(temperature=params.temperature, top_k=params.top_k, top_p=params.top_p)
        with self._lock, torch.inference_mode():
            torch.manual_seed(SEED)
            output = self.model.generate(**inputs, **options, pad_token_id=self.tokenizer.eos_token_id)
        generated = output[0][prompt_tokens:]
        return InferencingResult(self.tokenizer.decode(generated, skip_special_tokens=True), prompt_tokens, len(generated))
