"""GGUF models through llama-cpp-python, with Spin's params mapped one to one.

Like Spin's local engine (crates/llm-local), the prompt goes in raw (no chat
template), and only the continuation comes back. A stand-in (an instruct model
answering for a model the app names but does not have) is asked with
``chat=True``: the prompt goes through the GGUF's own chat template
(``tokenizer.chat_template``, rendered as llama-cpp-python renders it for
create_chat_completion), as the one user message; a raw prompt such as "Tell me
a joke." often gets no answer at all from a small instruct model.
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
        self._chat_formatter = None

    def count_tokens(self, text):
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=True))

    def _chat_prompt(self, prompt):
        """(prompt tokens, stop strings, stopping criteria) of ``prompt`` as the user's message in the chat template."""
        if self._chat_formatter is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            template = self.llama.metadata.get("tokenizer.chat_template")
            if not template:
                raise LlmError(RUNTIME_ERROR, f"{self.path} has no chat template (tokenizer.chat_template)")
            eos, bos = self.llama.token_eos(), self.llama.token_bos()

            def text(token):
                return self.llama.detokenize([token], special=True).decode("utf-8", "replace") if token != -1 else ""

            self._chat_formatter = Jinja2ChatFormatter(template, text(eos), text(bos), stop_token_ids=[eos])
        formatted = self._chat_formatter(messages=[{"role": "user", "content": prompt}])
        # As llama-cpp-python's chat handler tokenizes it: the template already holds BOS and the special tokens.
        tokens = self.llama.tokenize(formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special, special=True)
        return tokens, formatted.stop, formatted.stopping_criteria

    def infer(self, prompt, params, chat=False):
        with self._lock:
            if chat:
                # The usage counts the tokens the model really processed: the templated prompt.
                prompt, stop, stopping = self._chat_prompt(prompt)
                prompt_tokens = len(prompt)
            else:
                stop, stopping = None, None
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
                    stop=stop,
                    stopping_criteria=stopping,
                )
            except (ValueError, RuntimeError) as error:
                raise LlmError(RUNTIME_ERROR, f"llama.cpp failed on {self.path}: {error}") from None
        usage = output["usage"]
        return InferencingResult(output["choices"][0]["text"], usage["prompt_tokens"], usage["completion_tokens"])
