"""Sentence embeddings from a BERT model with the transformers library.

Mean pooling over the real tokens (the attention mask, not padding) and L2
normalization, so a sentence gets the same vector alone or in a batch, as
sentence-transformers computes it. (Spin's own local engine averages over the
padding too, so its vectors depend on the batch: we do not copy that.)

A folder may be a sentence-transformers or Hugging Face model (config.json),
or Spin's guide layout with only tokenizer.json and model.safetensors, for
which the BERT configuration of all-MiniLM-L6-v2 is assumed, as Spin does.
"""

import json
import os
import threading
from pathlib import Path
from typing import Any

# Spin's crates/llm-local/src/bert.rs Config::default(): all-MiniLM-L6-v2.
MINILM_CONFIG: dict[str, Any] = dict(
    vocab_size=30522,
    hidden_size=384,
    num_hidden_layers=6,
    num_attention_heads=12,
    intermediate_size=1536,
    hidden_act="gelu",
    max_position_embeddings=512,
    type_vocab_size=2,
    layer_norm_eps=1e-12,
    pad_token_id=0,
)
DEFAULT_MAX_TOKENS = 512
# A forward pass over fewer texts runs on one thread, a larger one on torch's default (one per core).
# Measured on a 2-core machine with all-MiniLM-L6-v2: one text took 11.4 ms on one thread and 13.3 ms
# on two, 32 texts 92 ms on one and 55 ms on two. A burst of single-text requests is answered by small
# passes while the instances sending them still run on the same cores: a second thread's spinning
# OpenMP team took a core from them, and waited for them at every layer (one text then took 25 to 40 ms).
ONE_THREAD_BELOW = 8


class EmbeddingsEngine:
    def __init__(self, folder: str | os.PathLike[str]) -> None:
        import torch
        from tokenizers import Tokenizer
        from transformers import BertConfig, BertModel
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # the pool logs one line per load instead

        self.folder = Path(folder)
        self.torch = torch
        self.tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        if (self.folder / "config.json").exists():
            from transformers import AutoModel

            self.model = AutoModel.from_pretrained(str(self.folder), local_files_only=True)
        else:
            from safetensors.torch import load_file

            self.model = BertModel(BertConfig(**MINILM_CONFIG), add_pooling_layer=False)
            state = load_file(str(self.folder / "model.safetensors"))
            state = {key.removeprefix("bert."): value for key, value in state.items()}
            missing, _ = self.model.load_state_dict(state, strict=False)
            if missing:
                raise ValueError(f"model.safetensors lacks {len(missing)} BERT weights, e.g. {missing[0]}")
        self.model.eval()
        # torch's default, kept before any pass changes it (set_num_threads sets MKL's count for the
        # whole process, and the OpenMP team's for the calling thread: the model process's one
        # embeddings thread for this model).
        self.threads = torch.get_num_threads()
        max_tokens = DEFAULT_MAX_TOKENS
        sbert_config = self.folder / "sentence_bert_config.json"
        if sbert_config.exists():
            max_tokens = json.loads(sbert_config.read_text()).get("max_seq_length", max_tokens)
        self.tokenizer.enable_truncation(max_tokens)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._lock = threading.Lock()

    def generate_embeddings(self, texts: list[str]) -> tuple[list[list[float]], list[int]]:
        """``(vectors, real token count per text)``."""
        if not texts:
            return [], []
        torch = self.torch
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = torch.tensor([e.ids for e in encodings])
        mask = torch.tensor([e.attention_mask for e in encodings])
        types = torch.tensor([e.type_ids for e in encodings])
        with self._lock, torch.inference_mode():
            torch.set_num_threads(1 if len(texts) < ONE_THREAD_BELOW else self.threads)
            hidden = self.model(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            vectors = torch.nn.functional.normalize(pooled, p=2, dim=1)
        return vectors.tolist(), [int(n) for n in mask.sum(1)]
