"""sentence-transformers (CPU) on the same chunks as the doctown-embedding benchmark: reports
chunks/s and the cosine between its vectors and doctown's. Usage:

    python bench_sentence_transformers.py MODEL_FOLDER CHUNKS.jsonl DOCTOWN_VECTORS.jsonl [MAX_TOKENS] [BATCH]
"""

import json
import os
import sys
import time

os.environ["HF_HUB_OFFLINE"] = "1"

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402


def main(model_folder, chunks_path, ours_path, max_tokens=256, batch=32):
    torch.set_num_threads(os.cpu_count())
    texts = [json.loads(line)["content"] for line in open(chunks_path)]
    model = SentenceTransformer(model_folder, device="cpu")
    model.max_seq_length = int(max_tokens)
    model.encode(["def warm_up(): pass"])
    started = time.perf_counter()
    theirs = model.encode(texts, batch_size=int(batch), normalize_embeddings=True, convert_to_numpy=True)
    elapsed = time.perf_counter() - started
    print(
        f"sentence-transformers: {len(texts)} chunks in {elapsed:.2f} s = {len(texts) / elapsed:.1f} chunks/s "
        f"(max {max_tokens} tokens, batch {batch}, {torch.get_num_threads()} threads)"
    )
    lengths = [min(len(ids), int(max_tokens)) for ids in model.tokenizer(texts)["input_ids"]]
    print(f"tokens per chunk after truncation: mean {np.mean(lengths):.1f}, max {max(lengths)}; "
          f"{sum(1 for n in lengths if n == int(max_tokens))} chunks truncated")
    ours = np.array([json.loads(line) for line in open(ours_path)], dtype=np.float32)
    cosines = (ours * theirs).sum(axis=1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs, axis=1))
    print(f"cosine doctown vs sentence-transformers: min {cosines.min():.6f}, mean {cosines.mean():.6f}")


if __name__ == "__main__":
    main(*sys.argv[1:])
