#!/usr/bin/python3
"""NumPy speed anchor: ISRL-DP minibatch SGD (FedAvg, 1 local step) on UCI Adult, logistic regression.

The workload of simulations/configs/adult_isrl_dp.yaml: 100 IID silos, 200 rounds, every silo every
round takes one step on a batch of exactly 64 of its records (without replacement): per-record
logistic-loss gradients clipped to norm C, summed, N(0, (sigma C)^2) added per coordinate, divided by
64, step with lr 0.5 from the global model; the new global model is the size-weighted mean of the
silos' models. Default: all silos at once (one gather into [silos, 64, d], einsum); --loop runs the
naive per-silo Python loop instead. Prints one JSON line; train_seconds covers the round loop only.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import anchor_data  # noqa: E402

import numpy as np  # noqa: E402


def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free


def sample_batches(shards, sizes, batch, rng):
    """[silos, batch] record indices: for each silo `batch` distinct records of its shard."""
    keys = rng.random(shards.shape)
    keys[np.arange(shards.shape[1])[None, :] >= sizes[:, None]] = -1.0  # padding never chosen
    pick = np.argpartition(keys, -batch, axis=1)[:, -batch:]
    return np.take_along_axis(shards, pick, axis=1)


def train_vectorized(x, y, shard_list, args, sigma, rng):
    silos, d, B, C = len(shard_list), x.shape[1], args.batch, args.clip
    sizes = np.array([len(s) for s in shard_list])
    shards = np.zeros((silos, sizes.max()), dtype=np.int64)
    for s, rows in enumerate(shard_list):
        shards[s, :len(rows)] = rows
    weights = sizes / sizes.sum()
    scale = np.sqrt(np.einsum("nd,nd->n", x, x) + 1.0)  # ||[x_i, 1]||, once for all rounds
    w, b = np.zeros(d), 0.0
    for _ in range(args.rounds):
        W = np.broadcast_to(w, (silos, d)).copy()
        bias = np.full(silos, b)
        for _ in range(args.local_steps):
            idx = sample_batches(shards, sizes, B, rng)
            xb, yb = x[idx], y[idx]                                   # [S, B, d], [S, B]
            r = sigmoid(np.einsum("sbd,sd->sb", xb, W) + bias[:, None]) - yb
            norms = np.abs(r) * scale[idx]                            # ||g_i||, closed form
            rc = r * np.minimum(1.0, C / np.maximum(norms, 1e-300))   # clipped residuals
            gw = np.einsum("sb,sbd->sd", rc, xb) + sigma * C * rng.standard_normal((silos, d))
            gb = rc.sum(axis=1) + sigma * C * rng.standard_normal(silos)
            W -= args.lr * gw / B
            bias -= args.lr * gb / B
        w, b = weights @ W, float(weights @ bias)
    return w, b


def train_loop(x, y, shard_list, args, sigma, rng):
    d, B, C = x.shape[1], args.batch, args.clip
    sizes = np.array([len(s) for s in shard_list], dtype=np.float64)
    weights = sizes / sizes.sum()
    w, b = np.zeros(d), 0.0
    for _ in range(args.rounds):
        new_w, new_b = np.zeros(d), 0.0
        for s, rows in enumerate(shard_list):
            ws, bs = w.copy(), b
            for _ in range(args.local_steps):
                idx = rng.choice(rows, size=B, replace=False)
                xb, yb = x[idx], y[idx]
                r = sigmoid(xb @ ws + bs) - yb
                norms = np.abs(r) * np.sqrt((xb * xb).sum(axis=1) + 1.0)
                rc = r * np.minimum(1.0, C / np.maximum(norms, 1e-300))
                gw = rc @ xb + sigma * C * rng.standard_normal(d)
                gb = rc.sum() + sigma * C * rng.standard_normal()
                ws = ws - args.lr * gw / B
                bs = bs - args.lr * gb / B
            new_w += weights[s] * ws
            new_b += weights[s] * bs
        w, b = new_w, new_b
    return w, b


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=anchor_data.default_data_dir())
    p.add_argument("--noise-multiplier", type=float, required=True,
                   help="sigma: the noise on each silo's clipped SUM has std sigma * clip")
    p.add_argument("--threads", type=int, default=1, help="recorded only; set OMP/OPENBLAS_NUM_THREADS")
    p.add_argument("--loop", action="store_true", help="naive Python loop over silos")
    p.add_argument("--silos", type=int, default=100)
    p.add_argument("--rounds", type=int, default=200)
    p.add_argument("--local-steps", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.5)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()

    x, y, x_test, y_test, _ = anchor_data.load_adult(args.data_dir)
    rng = np.random.default_rng(args.seed)
    shard_list = anchor_data.iid_shards(len(x), args.silos, rng)
    if min(len(s) for s in shard_list) < args.batch:
        sys.exit("every shard needs at least --batch records")
    train = train_loop if args.loop else train_vectorized
    start = time.perf_counter()
    w, b = train(x, y, shard_list, args, args.noise_multiplier, rng)
    seconds = time.perf_counter() - start
    accuracy = float(np.mean(((x_test @ w + b) > 0.0) == (y_test > 0.5)))
    print(json.dumps({"workload": "adult_logistic", "impl": "numpy_loop" if args.loop else "numpy",
                      "threads": args.threads, "rounds": args.rounds, "silos": args.silos,
                      "noise_multiplier": args.noise_multiplier, "features": x.shape[1],
                      "train_seconds": round(seconds, 4), "test_accuracy": round(accuracy, 4),
                      "blas": anchor_data.loaded_blas()}))


if __name__ == "__main__":
    main()
