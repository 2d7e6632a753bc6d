#!/usr/bin/python3
"""PyTorch speed anchor: ISRL-DP FedAvg with every silo's local model in one batched tensor.

--workload mnist (default; simulations/configs/bench_mnist_mlp_isrl_dp.yaml): MLP 784-80-60-10, ELU,
softmax cross-entropy, He-uniform init, 20 IID silos of 3,000 records, 20 rounds, every silo takes 5
local steps (lr 0.1) per round.
--workload adult (simulations/configs/adult_isrl_dp.yaml): logistic regression on UCI Adult, 100 IID
silos, 200 rounds, 1 local step (lr 0.5) per round.

A local step of one silo: a batch of exactly 64 of its records (without replacement); each record's
gradient clipped to L2 norm C over all parameters; the clipped gradients summed, N(0, (sigma C)^2)
added to every coordinate, divided by 64. The new global model is the size-weighted mean of the
silos' models. All silos step at once (bmm/einsum over a leading silo axis). Per-record norms come
from the ghost-norm identity ||delta_i a_i^T||^2 = ||delta_i||^2 ||a_i||^2 (+ ||delta_i||^2 for the
bias) with a hand-written backward pass, and the clipped sum is one matmul per layer with the rows of
delta scaled by c_i = min(1, C / ||g_i||): per-record gradients are never materialized.
Prints one JSON line; train_seconds covers the round loop only (no data loading, no evaluation).
"""
import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import anchor_data  # noqa: E402

# Idle OpenMP workers sleep instead of spinning: spinning torch/OpenBLAS workers starve the noise
# threads below (measured: 2 threads 5x slower than 1 without this).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import numpy as np  # noqa: E402
import torch  # noqa: E402

WORKLOADS = {  # silos, rounds, local steps, lr
    "mnist": dict(silos=20, rounds=20, local_steps=5, lr=0.1),
    "adult": dict(silos=100, rounds=200, local_steps=1, lr=0.5),
}


def padded_shards(shard_list):
    sizes = torch.tensor([len(s) for s in shard_list])
    shards = torch.zeros(len(shard_list), int(sizes.max()), dtype=torch.long)
    for s, rows in enumerate(shard_list):
        shards[s, :len(rows)] = torch.from_numpy(rows)
    return shards, sizes


def sample_batches(shards, sizes, batch, gen):
    """[silos, batch] record indices: for each silo `batch` distinct records of its shard."""
    keys = torch.rand(shards.shape, generator=gen)
    keys[torch.arange(shards.shape[1])[None, :] >= sizes[:, None]] = -1.0  # padding never chosen
    return shards.gather(1, keys.topk(batch, dim=1).indices)


def mlp_init(dims, gen):
    """He-uniform weights U(-sqrt(6/fan_in), sqrt(6/fan_in)) as [in, out], zero biases."""
    return [((torch.rand(i, o, generator=gen) * 2 - 1) * (6.0 / i) ** 0.5, torch.zeros(o))
            for i, o in zip(dims[:-1], dims[1:])]


def mlp_local_step(Ws, bs, xb, yb, args, sigma, noise):
    """One DP step for every silo at once. Ws[l]: [S, in, out], bs[l]: [S, out]; xb: [S, B, 784];
    noise: standard normals shaped like [Ws[0], bs[0], Ws[1], ...]."""
    acts, h = [xb], xb
    for l in range(len(Ws)):
        z = torch.baddbmm(bs[l].unsqueeze(1), h, Ws[l])
        if l < len(Ws) - 1:
            h = torch.nn.functional.elu(z)
            acts.append(h)
    delta = torch.softmax(z, dim=-1)
    delta.scatter_add_(2, yb.unsqueeze(2), torch.full_like(delta[..., :1], -1.0))  # p - onehot(y)
    deltas = [None] * len(Ws)
    for l in range(len(Ws) - 1, -1, -1):
        deltas[l] = delta
        if l > 0:  # ELU'(z) = 1 for z > 0, exp(z) = elu(z) + 1 otherwise
            delta = torch.bmm(delta, Ws[l].transpose(1, 2)) * (acts[l].clamp(max=0.0) + 1.0)
    sq = torch.zeros(yb.shape, dtype=xb.dtype)  # ||g_i||^2 over all parameters, per record
    for l, d in enumerate(deltas):
        a_sq = (acts[l] * acts[l]).sum(-1)
        sq += (d * d).sum(-1) * (a_sq + 1.0)
    c = (args.clip / sq.sqrt()).clamp(max=1.0).unsqueeze(2)
    step = -args.lr / args.batch
    for l, d in enumerate(deltas):
        dc = d * c
        gw = torch.bmm(acts[l].transpose(1, 2), dc)
        gb = dc.sum(1)
        gw.add_(noise[2 * l], alpha=sigma * args.clip)
        gb.add_(noise[2 * l + 1], alpha=sigma * args.clip)
        Ws[l].add_(gw, alpha=step)
        bs[l].add_(gb, alpha=step)


class Noise:
    """Standard normals (float64) for tensors of the given shapes, refilled once per step, with
    `threads` NumPy generators (SFC64, the fastest NumPy bit generator here) each filling its own
    slice of one buffer in parallel (NumPy releases the GIL while it fills). NumPy's ziggurat is
    about twice as fast as torch.randn in float64; torch sees the buffer without a copy."""

    def __init__(self, shapes, seed, threads):
        sizes = [int(np.prod(s)) for s in shapes]
        self.buf = np.empty(sum(sizes))
        flat, offsets = torch.from_numpy(self.buf), np.cumsum([0] + sizes)
        self.views = [flat[a:b].view(*s) for a, b, s in zip(offsets[:-1], offsets[1:], shapes)]
        seeds = np.random.SeedSequence([seed, 0x6e6f697365]).spawn(threads)
        self.jobs = list(zip([np.random.Generator(np.random.SFC64(s)) for s in seeds],
                             np.array_split(self.buf, threads)))
        self.pool = ThreadPoolExecutor(threads) if threads > 1 else None

    def draw(self):
        if self.pool is None:
            self.jobs[0][0].standard_normal(out=self.jobs[0][1])
        else:
            list(self.pool.map(lambda job: job[0].standard_normal(out=job[1]), self.jobs))
        return self.views


def train_mnist(x, y, shard_list, args, sigma, gen):
    shards, sizes = padded_shards(shard_list)
    weights = sizes.to(x.dtype) / sizes.sum()
    silos = len(shard_list)
    params = mlp_init([x.shape[1], 80, 60, 10], gen)  # the global model
    noise = Noise([(silos, *t.shape) for wb in params for t in wb], args.seed, args.threads)
    for _ in range(args.rounds):
        Ws = [w.expand(silos, *w.shape).clone() for w, _ in params]
        bs = [b.expand(silos, *b.shape).clone() for _, b in params]
        for _ in range(args.local_steps):
            idx = sample_batches(shards, sizes, args.batch, gen)
            mlp_local_step(Ws, bs, x[idx], y[idx], args, sigma, noise.draw())
        params = [(torch.einsum("s,sio->io", weights, W), weights @ b) for W, b in zip(Ws, bs)]
    return params


def mlp_accuracy(params, x, y):
    h = x
    for l, (w, b) in enumerate(params):
        h = torch.addmm(b, h, w)
        if l < len(params) - 1:
            h = torch.nn.functional.elu(h)
    return float((h.argmax(1) == y).double().mean())


def train_adult(x, y, shard_list, args, sigma, gen):
    shards, sizes = padded_shards(shard_list)
    weights = sizes.to(x.dtype) / sizes.sum()
    scale = ((x * x).sum(1) + 1.0).sqrt()  # ||[x_i, 1]||, once for all rounds
    silos, d, C = len(shard_list), x.shape[1], args.clip
    w, b = torch.zeros(d), torch.zeros(())
    noise = Noise([(silos, d), (silos,)], args.seed, args.threads)
    for _ in range(args.rounds):
        W, bias = w.expand(silos, d).clone(), b.expand(silos).clone()
        for _ in range(args.local_steps):
            idx = sample_batches(shards, sizes, args.batch, gen)
            xb = x[idx]                                                 # [S, B, d]
            r = torch.sigmoid(torch.einsum("sbd,sd->sb", xb, W) + bias[:, None]) - y[idx]
            rc = r * (C / (r.abs() * scale[idx])).clamp(max=1.0)      # clipped residuals
            nw, nb = noise.draw()
            gw = torch.einsum("sb,sbd->sd", rc, xb).add_(nw, alpha=sigma * C)
            gb = rc.sum(1).add_(nb, alpha=sigma * C)
            W.add_(gw, alpha=-args.lr / args.batch)
            bias.add_(gb, alpha=-args.lr / args.batch)
        w, b = weights @ W, weights @ bias
    return w, b


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workload", choices=sorted(WORKLOADS), default="mnist")
    p.add_argument("--data-dir", default=anchor_data.default_data_dir())
    p.add_argument("--noise-multiplier", type=float, required=True,
                   help="sigma: the noise on each silo's clipped SUM has std sigma * clip")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    p.add_argument("--silos", type=int)
    p.add_argument("--rounds", type=int)
    p.add_argument("--local-steps", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    for key, value in WORKLOADS[args.workload].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    torch.set_num_threads(args.threads)
    torch.set_default_dtype(torch.float64)

    rng = np.random.default_rng(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    if args.workload == "mnist":
        x, y, x_test, y_test = (torch.from_numpy(a) for a in anchor_data.load_mnist(args.data_dir))
    else:
        x, y, x_test, y_test = (torch.from_numpy(a) for a in anchor_data.load_adult(args.data_dir)[:4])
    shard_list = anchor_data.iid_shards(len(x), args.silos, rng)
    if min(len(s) for s in shard_list) < args.batch:
        sys.exit("every shard needs at least --batch records")
    train = train_mnist if args.workload == "mnist" else train_adult
    start = time.perf_counter()
    with torch.no_grad():
        model = train(x, y, shard_list, args, args.noise_multiplier, gen)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        if args.workload == "mnist":
            accuracy = mlp_accuracy(model, x_test, y_test)
        else:
            accuracy = float((((x_test @ model[0] + model[1]) > 0) == (y_test > 0.5)).double().mean())
    print(json.dumps({"workload": "mnist_mlp" if args.workload == "mnist" else "adult_logistic",
                      "impl": "torch", "threads": args.threads, "rounds": args.rounds,
                      "silos": args.silos, "noise_multiplier": args.noise_multiplier,
                      "train_seconds": round(seconds, 4), "test_accuracy": round(accuracy, 4),
                      "blas": anchor_data.loaded_blas()}))


if __name__ == "__main__":
    main()
