"""GGUF models through llama-cpp-python, with Spin's params mapped one to one.

Like Spin's local engine, the prompt goes in raw (no chat template), and only
the continuation comes back.
"""

import os
import threading

from spin_py.capabilities.llm.engines.base import INVALID_INPUT, RUNTIME_ERROR, InferencingResult, LlmError

CONTEXT_TOKENS = 2048
SEED = 42  # fixed, so temperature 0 (and any temperature) repeats its answer


class LlamaCppEngine:
    def __init__(self, path):
        from llama_cpp import Llama

        self.path = path
        self._lock = threading.Lock()  # one generation at a time per model
        self.llama = Llama(
            model_path=str(path),
            n_ctx=CONTEXT_TOKENS,
            n_threads=max(1, os.cpu_count() or 1),
            seed=SEED,
            verbose=False,
        )

    def count_tokens(self, text):
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=True))

    def infer(self, prompt, params):
        with self._lock:
            prompt_tokens = self.count_tokens(prompt)
            if params.max_tokens == 0:
                # llama.cpp reads 0 as "no limit"; Spin's contract is no tokens.
                return InferencingResult("", prompt_tokens, 0)
            if prompt_tokens >= CONTEXT_TOKENS:
                raise LlmError(INVALID_INPUT, f"the prompt has {prompt_tokens} tokens; the model's context holds {CONTEXT_TOKENS}")
            # Read when the sampler is built for this call: Spin's repeat_penalty_last_n_token_count.
            self.llama.last_n_tokens_size = params.repeat_penalty_last_n_token_count
            try:
                output = self.llama.create_completion(
                    prompt,
                    max_tokens=min(params.max_tokens, CONTEXT_TOKENS - prompt_tokens),
                    temperature=params.temperature,
                    top_p=params.top_p,
                    top_k=params.top_k,
                    repeat_penalty=params.repeat_penalty,
                    seed=SEED,
                )
            except (ValueError, RuntimeError) as error:
                raise LlmError(RUNTIME_ERROR, f"llama.cpp failed on {self.path}: {error}") from None
        usage = output["usage"]
        return InferencingResult(output["choices"][0]["text"], usage["prompt_tokens"], usage["completion_tokens"])
