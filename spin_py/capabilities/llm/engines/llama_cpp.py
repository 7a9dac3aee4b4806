"""GGUF models through llama-cpp-python's low-level API, with Spin's params
mapped one to one, and several calls decoded together (continuous batching).

Like Spin's local engine (crates/llm-local), the prompt goes in raw (no chat
template), and only the continuation comes back. A stand-in (an instruct model
answering for a model the app names but does not have) is asked with
``chat=True``: the prompt goes through the GGUF's own chat template
(``tokenizer.chat_template``, rendered as llama-cpp-python renders it for
create_chat_completion), as the one user message; a raw prompt such as "Tell me
a joke." often gets no answer at all from a small instruct model.

Answers depend only on model, prompt and params. Every call evaluates its whole
prompt afresh, alone (no prefix reused from an earlier call: llama.cpp's
numerics differ between evaluating a prompt whole and evaluating only its last
token over a cached prefix, so reuse made the first answer differ from every
repeat). Calls running together share only the one-token decode steps: one
``llama_decode`` with one token per sequence. Each sequence has its own KV
stream (``kv_unified`` off), which starts empty for every call, so its
attention reads exactly its own cells in the same order whatever runs beside
it; measured on the stand-in, greedy answers of 8 prompts over 48 tokens were
identical alone and batched, where one unified KV buffer changed 7 of 8 from
their 3rd to 35th token (and evaluating prompts together changed them too).
llama-cpp-python's ``Llama`` class cannot do this: it serves one sequence and
does not pass ``n_seq_max`` through, so the context is made here with
``llama_init_from_model``.

Each sequence keeps its own sampler chain, built as llama-cpp-python's
``create_completion`` builds it (repeat penalty over the sequence's own last n
generated tokens, then greedy at temperature 0, or top-k, typical 1.0, top-p,
min-p 0.05, temperature and a seeded draw), so temperature 0 and any other
temperature repeat their answer.
"""

import ctypes
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from spin_py.capabilities.llm.engines.base import (
    INVALID_INPUT,
    RUNTIME_ERROR,
    InferencingParams,
    InferencingResult,
    LlmError,
)

if TYPE_CHECKING:
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

CONTEXT_TOKENS = 2048  # prompt and answer of one call
MAX_SEQUENCES = 8  # calls decoded together, at most
# Each sequence has a KV stream of CONTEXT_TOKENS cells: a model gets as many sequences as fit in this
# (SmolLM2-135M: 45 MiB a sequence, so 8; a 7B model with f16 keys and values: 1 GiB, so 1, as before).
KV_BUDGET_BYTES = 512 << 20
PROMPT_CHUNK = 512  # tokens of a prompt evaluated by one llama_decode (llama-cpp-python's n_batch)
SEED = 42  # fixed, so temperature 0 (and any temperature) repeats its answer
MIN_P = 0.05  # create_completion's default, kept so sampled answers stay as they were
_GGML_LOG_LEVEL_ERROR = 4
_GGML_LOG_LEVEL_CONT = 5


@dataclass(eq=False)
class Sequence:
    """One infer call being generated: its own tokens, sampler, limits and counts."""

    seq_id: int
    prompt: list[int]
    max_tokens: int
    sampler: Any  # a llama_sampler chain, None once freed
    stops: list[bytes] = field(default_factory=list)  # stop strings of a chat template
    generated: list[int] = field(default_factory=list)
    text: bytearray = field(default_factory=bytearray)
    position: int = 0  # the next token's position: tokens in this sequence's KV stream
    done: bool = False

    def result(self) -> InferencingResult:
        text = bytes(self.text)
        for stop in self.stops:
            at = text.find(stop)
            if at >= 0:
                text = text[:at]
        return InferencingResult(text.decode("utf-8", "ignore"), len(self.prompt), len(self.generated))


_quiet_callback: Any = None


def _errors_only(llama_cpp: Any) -> None:
    """llama.cpp's log to stderr, errors only (the model process's stderr reaches the terminal):
    ``Llama(verbose=False)`` silenced everything, including why a file failed to load."""
    global _quiet_callback
    if _quiet_callback is not None:
        return
    state = {"error": False}

    @llama_cpp.llama_log_callback
    def callback(level: int, text: bytes, user_data: Any) -> None:
        if level != _GGML_LOG_LEVEL_CONT:
            state["error"] = level == _GGML_LOG_LEVEL_ERROR
        if state["error"] and text:
            os.write(2, text)

    _quiet_callback = callback  # kept alive: llama.cpp holds the pointer
    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))


class LlamaCppEngine:
    """One GGUF model and one context of up to ``sequences`` KV streams. Not thread-safe:
    one thread (the model process's generator) drives it."""

    def __init__(self, path: str | os.PathLike[str], sequences: int = MAX_SEQUENCES) -> None:
        import llama_cpp
        from llama_cpp._internals import LlamaModel

        self.path = path
        self.ll = llama_cpp
        _errors_only(llama_cpp)
        llama_cpp.llama_backend_init()
        # verbose: LlamaModel would otherwise send fds 1 and 2 to /dev/null while loading, and with them
        # the GGML_ASSERT that says why a file aborts the load (llama.cpp's log is filtered above instead).
        self.model = LlamaModel(path_model=str(path), params=llama_cpp.llama_model_default_params(), verbose=True)
        self.vocab = self.model.vocab
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(self.vocab)
        self.sequences = max(1, min(sequences, KV_BUDGET_BYTES // max(1, self._kv_bytes_per_sequence())))
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = CONTEXT_TOKENS * self.sequences
        params.n_batch = params.n_ubatch = PROMPT_CHUNK
        params.n_seq_max = self.sequences
        params.kv_unified = False
        params.n_threads = params.n_threads_batch = max(1, os.cpu_count() or 1)
        # Flash attention reads only a sequence's own cells: measured on this project's 2-core machine,
        # 4 and 8 calls decoded together ran 1.41x and 1.65x the same calls in a row, 1.19x and 1.28x without.
        params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED
        self.ctx = llama_cpp.llama_init_from_model(self.model.model, params)
        if not self.ctx:
            self.model.close()
            raise ValueError(f"llama.cpp could not make a context of {params.n_ctx} tokens")
        # Per-sequence removal is llama_memory_seq_rm since llama.cpp's memory API, llama_kv_self_seq_rm before.
        memory_api = hasattr(llama_cpp, "llama_memory_seq_rm")
        self.memory = llama_cpp.llama_get_memory(self.ctx) if memory_api else self.ctx
        self._seq_rm: Callable[..., Any] = getattr(llama_cpp, "llama_memory_seq_rm" if memory_api else "llama_kv_self_seq_rm")
        self.batch = llama_cpp.llama_batch_init(PROMPT_CHUNK, 0, 1)
        self._piece = ctypes.create_string_buffer(64)
        self._chat_formatter: Jinja2ChatFormatter | None = None

    def _kv_bytes_per_sequence(self) -> int:
        ll, model = self.ll, self.model.model
        heads = max(1, ll.llama_model_n_head(model))
        head_size = ll.llama_model_n_embd(model) // heads
        # keys and values, f16, for every layer and KV head
        return CONTEXT_TOKENS * ll.llama_model_n_layer(model) * ll.llama_model_n_head_kv(model) * head_size * 2 * 2

    def close(self) -> None:
        ll = self.ll
        if self.ctx:
            ll.llama_batch_free(self.batch)
            ll.llama_free(self.ctx)
            self.ctx = None
            self.model.close()

    # --- prompts ---------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        return len(self.model.tokenize(text.encode("utf-8"), True, False))

    def _chat_prompt(self, prompt: str) -> tuple[list[int], list[bytes]]:
        """(prompt tokens, stop strings) of ``prompt`` as the user's message in the chat template."""
        if self._chat_formatter is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            template = self.model.metadata().get("tokenizer.chat_template")
            if not template:
                raise LlmError(RUNTIME_ERROR, f"{self.path} has no chat template (tokenizer.chat_template)")
            eos, bos = self.model.token_eos(), self.model.token_bos()

            def text(token: int) -> str:
                return self.model.detokenize([token], special=True).decode("utf-8", "replace") if token != -1 else ""

            self._chat_formatter = Jinja2ChatFormatter(template, text(eos), text(bos), stop_token_ids=[eos])
        formatted = self._chat_formatter(messages=[{"role": "user", "content": prompt}])
        # As llama-cpp-python's chat handler tokenizes it: the template already holds BOS and the special tokens.
        tokens = self.model.tokenize(formatted.prompt.encode("utf-8"), not formatted.added_special, True)
        stops = formatted.stop if isinstance(formatted.stop, list) else [formatted.stop] if formatted.stop else []
        return tokens, [stop.encode("utf-8") for stop in stops if stop]

    def prepare(self, prompt: str, params: InferencingParams,
                chat: bool = False) -> tuple[list[int], list[bytes], int] | InferencingResult:
        """What a call needs before it takes a sequence: ``(tokens, stops, max_tokens)``, or an
        InferencingResult already (max_tokens 0); LlmError for a prompt that does not fit."""
        if chat:
            # The usage counts the tokens the model really processed: the templated prompt.
            tokens, stops = self._chat_prompt(prompt)
        else:
            tokens, stops = self.model.tokenize(prompt.encode("utf-8"), True, False), []
        if params.max_tokens == 0:
            return InferencingResult("", len(tokens), 0)  # Spin's contract: no tokens
        if len(tokens) >= CONTEXT_TOKENS:
            raise LlmError(INVALID_INPUT, f"the prompt has {len(tokens)} tokens; the model's context holds {CONTEXT_TOKENS}")
        return tokens, stops, min(params.max_tokens, CONTEXT_TOKENS - len(tokens))

    def _sampler(self, params: InferencingParams) -> Any:
        """A sampler chain as llama-cpp-python's create_completion builds one (Llama._init_sampler)."""
        ll = self.ll
        chain = ll.llama_sampler_chain_init(ll.llama_sampler_chain_default_params())

        def add(sampler: Any) -> None:
            ll.llama_sampler_chain_add(chain, sampler)

        add(ll.llama_sampler_init_penalties(self.n_vocab, params.repeat_penalty_last_n_token_count,
                                            params.repeat_penalty, 0.0, 0.0))
        if params.temperature == 0:
            add(ll.llama_sampler_init_greedy())
        else:
            add(ll.llama_sampler_init_top_k(params.top_k))
            add(ll.llama_sampler_init_typical(1.0, 1))
            add(ll.llama_sampler_init_top_p(params.top_p, 1))
            add(ll.llama_sampler_init_min_p(MIN_P, 1))
            add(ll.llama_sampler_init_temp(params.temperature))
            add(ll.llama_sampler_init_dist(SEED))
        return chain

    # --- generation ------------------------------------------------------------------------

    def start(self, seq_id: int, prepared: tuple[list[int], list[bytes], int], params: InferencingParams,
              on_chunk: Callable[[], None] | None = None) -> Sequence:
        """Evaluate a prepared prompt alone in KV stream ``seq_id`` (which must be empty) and sample
        its first token. ``on_chunk()`` after each PROMPT_CHUNK tokens evaluated."""
        tokens, stops, max_tokens = prepared
        sequence = Sequence(seq_id, tokens, max_tokens, self._sampler(params), stops)
        try:
            for start in range(0, len(tokens), PROMPT_CHUNK):
                chunk = tokens[start:start + PROMPT_CHUNK]
                last = start + len(chunk) == len(tokens)
                self._fill([(token, start + i, seq_id, last and i == len(chunk) - 1) for i, token in enumerate(chunk)])
                self._decode()
                if on_chunk is not None and not last:
                    on_chunk()
            sequence.position = len(tokens)
            self._sample(sequence, -1)
        except BaseException:
            self.finish(sequence)
            raise
        return sequence

    def step(self, sequences: list[Sequence]) -> None:
        """One decode step for every sequence not done: its last token in, its next token sampled."""
        running = [sequence for sequence in sequences if not sequence.done]
        if not running:
            return
        self._fill([(s.generated[-1], s.position, s.seq_id, True) for s in running])
        self._decode()
        for index, sequence in enumerate(running):
            sequence.position += 1
            self._sample(sequence, index)

    def finish(self, sequence: Sequence) -> None:
        """Free the sequence's KV stream and sampler (once)."""
        if sequence.sampler is not None:
            self._seq_rm(self.memory, sequence.seq_id, -1, -1)
            self.ll.llama_sampler_free(sequence.sampler)
            sequence.sampler = None
            sequence.done = True

    def infer(self, prompt: str, params: InferencingParams, chat: bool = False) -> InferencingResult:
        """One call alone, in KV stream 0."""
        prepared = self.prepare(prompt, params, chat)
        if isinstance(prepared, InferencingResult):
            return prepared
        sequence = self.start(0, prepared, params)
        try:
            while not sequence.done:
                self.step([sequence])
        finally:
            self.finish(sequence)
        return sequence.result()

    def _fill(self, items: list[tuple[int, int, int, bool]]) -> None:
        batch = self.batch
        batch.n_tokens = len(items)
        for i, (token, position, seq_id, logits) in enumerate(items):
            batch.token[i] = token
            batch.pos[i] = position
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = seq_id
            batch.logits[i] = logits

    def _decode(self) -> None:
        code = self.ll.llama_decode(self.ctx, self.batch)
        if code != 0:
            raise LlmError(RUNTIME_ERROR, f"llama.cpp failed on {self.path}: llama_decode returned {code}")

    def _sample(self, sequence: Sequence, index: int) -> None:
        """The sequence's next token from the logits at batch ``index``; done at an end-of-generation
        token (not counted, as create_completion), at max_tokens, or past a stop string."""
        ll = self.ll
        token = ll.llama_sampler_sample(sequence.sampler, self.ctx, index)
        if ll.llama_vocab_is_eog(self.vocab, token):
            sequence.done = True
            return
        sequence.generated.append(token)
        size = ll.llama_token_to_piece(self.vocab, token, self._piece, len(self._piece), 0, False)
        if size < 0:  # a longer piece: -size bytes
            self._piece = ctypes.create_string_buffer(-size)
            size = ll.llama_token_to_piece(self.vocab, token, self._piece, len(self._piece), 0, False)
        sequence.text += self._piece.raw[:max(0, size)]
        if len(sequence.generated) >= sequence.max_tokens or (sequence.stops and any(stop in sequence.text[-len(stop) - size:] for stop in sequence.stops)):
            sequence.done = True
