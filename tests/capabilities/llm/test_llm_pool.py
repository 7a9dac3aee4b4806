"""The local model pool with the real packaged models: SmolLM2 (GGUF, llama.cpp)
and all-MiniLM-L6-v2 (BERT), run in the model process."""

import dataclasses
import json
import os
import shutil
import threading
import time

import numpy
import pytest

from spin_py.capabilities.llm import LlmAppCapability, packaged
from spin_py.capabilities.llm.engines.base import InferencingParams, LlmError
from spin_py.capabilities.llm.model_process import BATCH_WINDOW_SECONDS, EmbeddingBatcher, GenerationBatcher
from spin_py.capabilities.llm.pool import LocalModelPool
from spin_py.capabilities.seam import Instance

GREEDY = InferencingParams(max_tokens=12, temperature=0.0)
SENTENCES = ["The cat sat on the mat.", "Stock markets fell sharply today.", "A kitten is sleeping on a rug.", "hi"]


@pytest.fixture(scope="module")
def pool():
    lines = []
    model_pool = LocalModelPool("/nonexistent-state-dir", log=lines.append)
    model_pool.lines = lines
    yield model_pool
    model_pool.close()


@pytest.fixture(scope="module")
def real_model_dir(tmp_path_factory):
    """A state dir holding SmolLM2 as the app's own `llama2-chat`: a real model, which gets the raw prompt."""
    state_dir = tmp_path_factory.mktemp("state")
    (state_dir / "ai-models").mkdir()
    (state_dir / "ai-models" / "llama2-chat").symlink_to(packaged.smollm2_file())
    return state_dir


def raw_token_count(text):
    from llama_cpp import Llama

    vocab = Llama(model_path=str(packaged.smollm2_file()), vocab_only=True, verbose=False)
    return len(vocab.tokenize(text.encode("utf-8"), add_bos=True))


@pytest.fixture(scope="module")
def reference():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(packaged.minilm_folder()), local_files_only=True)


def test_a_real_model_continues_the_raw_prompt_with_real_token_counts(real_model_dir):
    pool = LocalModelPool(real_model_dir, stand_ins=False, log=lambda line: None)
    try:
        prompt = "The capital of France is"
        result = pool.infer("llama2-chat", prompt, GREEDY)
        assert result.text.strip() and not result.text.startswith(prompt)
        assert "Paris" in result.text
        assert result.generated_token_count == 12
        assert result.prompt_token_count == raw_token_count(prompt)
        assert pool.infer("llama2-chat", prompt, GREEDY).text == result.text  # temperature 0 repeats itself
        assert pool.infer("llama2-chat", prompt, InferencingParams(max_tokens=3, temperature=0)).generated_token_count == 3
    finally:
        pool.close()


def test_a_stand_in_answers_through_its_chat_template(pool):
    # Spin's old-sdk examples/llm prompt: SmolLM2 given it raw answers with 0 tokens.
    prompt = "You are a stand up comedy writer. Tell me a joke."
    result = pool.infer("llama2-chat", prompt, InferencingParams())
    assert result.text.strip() and result.generated_token_count > 0
    # The usage counts what the model processed: the prompt inside SmolLM2's chat template.
    assert result.prompt_token_count > raw_token_count(prompt)
    assert "<|im_start|>" not in result.text and "<|im_end|>" not in result.text
    assert any("stand-in for 'llama2-chat'" in line and "chat template" in line for line in pool.lines)


def test_max_tokens_zero_and_the_stand_in_announcement(pool):
    result = pool.infer("codellama-instruct", "def add(a, b):", InferencingParams(max_tokens=0))
    assert (result.text, result.generated_token_count) == ("", 0)
    assert result.prompt_token_count > 0
    announcements = [line for line in pool.lines if "stand-in for 'codellama-instruct'" in line]
    assert len(announcements) == 1
    assert "ai-models/codellama-instruct" in announcements[0]
    pool.infer("codellama-instruct", "x", InferencingParams(max_tokens=1))
    assert len([line for line in pool.lines if "stand-in for 'codellama-instruct'" in line]) == 1


def test_embeddings_match_the_reference_alone_or_batched(pool, reference):
    expected = reference.encode(SENTENCES)
    batch = pool.generate_embeddings("all-minilm-l6-v2", SENTENCES)
    assert len(batch.embeddings) == len(SENTENCES) and len(batch.embeddings[0]) == 384
    for index, sentence in enumerate(SENTENCES):
        alone = pool.generate_embeddings("all-minilm-l6-v2", [sentence])
        assert numpy.dot(alone.embeddings[0], batch.embeddings[index]) >= 0.9999
        assert numpy.dot(expected[index], batch.embeddings[index]) >= 0.9999
        assert numpy.isclose(numpy.linalg.norm(batch.embeddings[index]), 1.0)
    # Real tokens only: [CLS] + words + [SEP], no padding.
    assert pool.generate_embeddings("all-minilm-l6-v2", ["hi"]).prompt_token_count == 3
    assert pool.generate_embeddings("all-minilm-l6-v2", []).embeddings == []


def test_unknown_embeddings_model_is_not_supported(pool):
    with pytest.raises(LlmError) as error:
        pool.generate_embeddings("no-such-embedder", ["x"])
    assert error.value.kind == "ModelNotSupported"


def test_one_load_per_model_and_concurrent_embeddings_are_batched(pool):
    results = {}

    def embed(index):
        results[index] = pool.generate_embeddings("all-minilm-l6-v2", [SENTENCES[index % len(SENTENCES)]])

    def infer(index):
        results[f"infer-{index}"] = pool.infer("llama2-chat", "Once upon a time", InferencingParams(max_tokens=2))

    threads = [threading.Thread(target=embed, args=(i,)) for i in range(32)]
    threads += [threading.Thread(target=infer, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    batch_sizes = pool.stats()["batch_sizes"][str(packaged.minilm_folder())]
    assert max(batch_sizes) > 1  # requests that arrived together shared a forward pass
    for index in range(32):
        alone = pool.generate_embeddings("all-minilm-l6-v2", [SENTENCES[index % len(SENTENCES)]])
        assert numpy.dot(results[index].embeddings[0], alone.embeddings[0]) >= 0.9999
    assert pool.load_counts[("all-minilm-l6-v2", "embeddings")] == 1
    assert pool.load_counts[("llama2-chat", "inferencing")] == 1


def test_models_from_the_state_dir_and_spins_guide_layout(tmp_path, reference):
    guide = tmp_path / "ai-models" / "all-minilm-l6-v2"
    guide.mkdir(parents=True)
    for name in ("tokenizer.json", "model.safetensors"):
        shutil.copy(packaged.minilm_folder() / name, guide / name)
    shutil.copy(packaged.smollm2_file(), tmp_path / "ai-models" / "llama2-chat")
    lines = []
    pool = LocalModelPool(tmp_path, log=lines.append)
    vector = pool.generate_embeddings("all-minilm-l6-v2", ["The cat sat on the mat."]).embeddings[0]
    assert numpy.dot(vector, reference.encode(["The cat sat on the mat."])[0]) >= 0.9999
    assert pool.infer("llama2-chat", "Hello", InferencingParams(max_tokens=2)).generated_token_count == 2
    assert not any("stand-in" in line for line in lines)
    assert any(str(guide) in line for line in lines)
    assert pool.source("llama2-chat", "inferencing").origin == "state dir"
    pool.close()


def test_a_broken_model_file_is_a_runtime_error_until_fixed(tmp_path):
    models = tmp_path / "ai-models"
    models.mkdir()
    broken = models / "llama2-chat"
    broken.write_bytes(packaged.smollm2_file().read_bytes()[:100_000])  # truncated GGUF
    pool = LocalModelPool(tmp_path, stand_ins=False, log=lambda line: None)
    with pytest.raises(LlmError) as error:
        pool.infer("llama2-chat", "Hi", GREEDY)
    assert error.value.kind == "RuntimeError" and str(broken) in error.value.message
    assert "failed to load model 'llama2-chat'" in error.value.message
    broken.write_bytes(b"not a model at all")
    with pytest.raises(LlmError) as error:
        pool.infer("llama2-chat", "Hi", GREEDY)
    assert "wrong format" in error.value.message
    (models / "all-minilm-l6-v2").mkdir()
    with pytest.raises(LlmError) as error:
        pool.generate_embeddings("all-minilm-l6-v2", ["x"])
    assert "tokenizer" in error.value.message and "all-minilm-l6-v2" in error.value.message
    shutil.copy(packaged.smollm2_file(), broken)  # fixed: the next call loads it
    assert pool.infer("llama2-chat", "Hi", InferencingParams(max_tokens=1)).generated_token_count == 1
    assert pool.load_counts[("llama2-chat", "inferencing")] == 1
    first_process = pool.process.pid
    pool.close()
    assert pool.process.pid is None and not _alive(first_process)  # close() leaves no model process behind


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def test_without_stand_ins_a_missing_model_names_every_place_looked_in(tmp_path):
    pool = LocalModelPool(tmp_path, stand_ins=False, log=lambda line: None)
    with pytest.raises(LlmError) as error:
        pool.infer("llama2-chat", "Hi", GREEDY)
    assert error.value.kind == "InvalidInput"
    assert str(tmp_path / "ai-models" / "llama2-chat") in error.value.message
    assert str(tmp_path / "ai_models" / "llama2-chat") in error.value.message


def test_model_names_that_resolve_to_one_file_share_one_copy(pool):
    pool.infer("llama2-chat", "Hi", InferencingParams(max_tokens=1))
    pool.infer("some-other-chat-model", "Hi", InferencingParams(max_tokens=1))
    stats = pool.stats()
    assert stats["loads"][(str(packaged.smollm2_file()), "inferencing")] == 1  # one copy in the model process
    assert pool.load_counts[("some-other-chat-model", "inferencing")] == 0
    assert any("some-other-chat-model uses the copy of" in line for line in pool.lines)


PROMPTS = ["Once upon a time, in a small village by the sea, there lived", "The capital of France is",
           "def fibonacci(n):", "My favourite recipe for soup starts with", "In 1969, the first man on the moon",
           "The three laws of robotics are", "Here is a poem about autumn:", "To install Python on Linux, you"]


def test_temperature_zero_answers_alone_and_beside_seven_others_are_the_same(real_model_dir):
    """The batching must not change answers: each prompt alone, then all 8 decoded together."""
    pool = LocalModelPool(real_model_dir, stand_ins=False, log=lambda line: None)
    params = InferencingParams(max_tokens=24, temperature=0.0)
    try:
        alone = [pool.infer("llama2-chat", prompt, params) for prompt in PROMPTS]
        together = {}
        barrier = threading.Barrier(len(PROMPTS))

        def infer(index):
            barrier.wait()
            together[index] = pool.infer("llama2-chat", PROMPTS[index], params)

        threads = [threading.Thread(target=infer, args=(index,)) for index in range(len(PROMPTS))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for index, result in enumerate(alone):
            assert together[index] == result, PROMPTS[index]
        decode_steps = pool.stats()["decode_batch_sizes"][str(real_model_dir / "ai-models" / "llama2-chat")]
        assert max(decode_steps) >= 4  # they were decoded together
    finally:
        pool.close()


def test_a_cancelled_call_frees_its_sequence_at_once(real_model_dir):
    pool = LocalModelPool(real_model_dir, stand_ins=False, log=lambda line: None)
    path = str(real_model_dir / "ai-models" / "llama2-chat")
    counting = InferencingParams(max_tokens=1900, temperature=0.0, repeat_penalty=1.0)
    try:
        expected = pool.infer("llama2-chat", "Hi", GREEDY)
        client_left = threading.Event()
        failures = []

        def infer():
            try:
                pool.infer("llama2-chat", "1, 2, 3, 4, 5,", counting, client_left.is_set)
            except LlmError as error:
                failures.append(error)

        call = threading.Thread(target=infer)
        call.start()
        while not pool.stats()["running"].get(path):
            time.sleep(0.01)
        client_left.set()
        call.join(30)
        assert failures and failures[0].kind == "RuntimeError"
        assert failures[0].message.startswith("the call was cancelled while running infer on 'llama2-chat'")
        deadline = time.monotonic() + 10
        while pool.stats()["running"][path]:  # the model process drops the sequence at its next step
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert pool.infer("llama2-chat", "Hi", GREEDY) == expected
    finally:
        pool.close()


def test_the_model_process_stderr_reaches_the_terminal_bounded_under_one_prefix():
    from spin_py.capabilities.llm.supervisor import STDERR_LINES_SHOWN, ModelProcess

    lines = []
    process = ModelProcess(log=lines.append)
    read, write = os.pipe()
    with os.fdopen(write, "wb") as writer:
        writer.write(b"".join(b"llama.cpp said %d\n" % index for index in range(STDERR_LINES_SHOWN + 30)))
    process._keep_stderr(os.fdopen(read, "rb"))
    assert lines[0] == "model process: llama.cpp said 0"
    assert len(lines) == STDERR_LINES_SHOWN + 1 and all(line.startswith("model process: ") for line in lines)
    assert "more output not shown" in lines[-1]
    assert process._last_words() == f"llama.cpp said {STDERR_LINES_SHOWN + 29}"


def test_a_bad_progress_bound_is_one_line_naming_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("SPIN_PY_MODEL_PROGRESS_SECONDS", "soon")
    with pytest.raises(LlmError) as error:
        LocalModelPool(tmp_path, log=lambda line: None)
    assert error.value.message == "SPIN_PY_MODEL_PROGRESS_SECONDS must be a number of seconds greater than 0, got 'soon'"


def test_results_carry_how_long_the_call_waited_for_the_host_never_for_the_guest(pool):
    started = time.monotonic()
    result = pool.infer("llama2-chat", "Hi", GREEDY)
    elapsed = time.monotonic() - started
    timings = result.host_timings
    assert 0 <= timings.queued <= timings.first_token <= elapsed
    started = time.monotonic()
    embedded = pool.generate_embeddings("all-minilm-l6-v2", ["hat"])
    elapsed = time.monotonic() - started
    # A lone request waits one batching window for company, and that counts as queued.
    assert BATCH_WINDOW_SECONDS <= embedded.host_timings.queued <= elapsed
    assert embedded.host_timings.first_token is None
    # Results compare and print without them, and the guest's answer is built without them.
    assert dataclasses.replace(result, host_timings=None) == result and "host_timings" not in repr(result)
    capability = LlmAppCapability({"c": frozenset({"llama2-chat", "all-minilm-l6-v2"})}, lambda: pool)
    instance = Instance("c", dict)
    answer = capability.infer(instance, {"model": "llama2-chat", "prompt": "Hi", "params": {"max_tokens": 2}})
    assert set(answer) == {"text", "usage"} and set(answer["usage"]) == {"prompt_token_count", "generated_token_count"}
    answer = capability.generate_embeddings(instance, {"model": "all-minilm-l6-v2", "texts": ["hat"]})
    assert set(answer) == {"embeddings", "usage"} and "queued" not in json.dumps(answer)


def _answer(submit):
    """Submit a call to a batcher and wait for its result (or error)."""
    done, answers = threading.Event(), []
    submit(lambda result, error, loaded: (answers.append(error or result), done.set()))
    assert done.wait(60)
    if isinstance(answers[0], BaseException):
        raise answers[0]
    return answers[0]


def test_a_call_that_waits_for_another_is_queued_until_its_turn_and_timed_from_its_arrival():
    """In the model process's batchers, with arrivals set by hand: of two calls that arrive together
    on a model not yet loaded, one is admitted first (one at a time until the model has loaded), and
    the other waits for its load, prompt and first token."""
    generator = GenerationBatcher(str(packaged.smollm2_file()))
    params = InferencingParams(max_tokens=4, temperature=0.0)
    results = {}
    arrived = time.monotonic()

    def call(call_id):
        results[call_id] = _answer(lambda reply: generator.submit(call_id, PROMPTS[0], params, False, reply, arrived))

    threads = [threading.Thread(target=call, args=(call_id,)) for call_id in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    first, second = sorted((result.host_timings for result in results.values()), key=lambda timings: timings.queued)
    assert first.queued < first.first_token <= second.queued < second.first_token
    assert results[1] == results[2]  # same prompt, same answer: the timings are not compared
    embedder = EmbeddingBatcher(str(packaged.minilm_folder()))
    _answer(lambda reply: embedder.submit(["warm up"], reply))
    late = _answer(lambda reply: embedder.submit(["hat"], reply, time.monotonic() - 5))
    assert 5 <= late.host_timings.queued < 6  # measured from the arrival it was given
