"""Data loading shared by the Python speed anchors (isrl_dp_anchor_numpy.py, isrl_dp_anchor_torch.py).

Written independently of fedsilo's C++ loaders, following the same public conventions:
MNIST from gzipped IDX (pixels / 255), UCI Adult with rows holding '?' dropped, numeric columns
standardized with the training mean and (population) std, categorical columns one-hot over the
training set's levels (a test level never seen in training encodes as all zeros).
"""
import gzip
import os
import struct

import numpy as np

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def default_data_dir():
    return os.environ.get("FEDSILO_DATA") or os.path.join(REPO_ROOT, "..", "shared", "data")


def _read_idx(path, magic):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    got, = struct.unpack(">i", raw[:4])
    if got != magic:
        raise ValueError(f"{path}: magic {got}, expected {magic}")
    ndim = raw[3]
    dims = struct.unpack(">" + "i" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_mnist(data_dir):
    """Returns (x_train, y_train, x_test, y_test): float64 [n, 784] in [0, 1], int64 labels."""
    out = []
    for split in ("train", "t10k"):
        base = os.path.join(data_dir, "mnist", split)
        x = _read_idx(base + "-images-idx3-ubyte.gz", 2051)
        y = _read_idx(base + "-labels-idx1-ubyte.gz", 2049)
        out += [x.reshape(len(x), -1).astype(np.float64) / 255.0, y.astype(np.int64)]
    return tuple(out)


ADULT_COLUMNS = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status",
                 "occupation", "relationship", "race", "sex", "capital-gain", "capital-loss",
                 "hours-per-week", "native-country", "income"]
# fnlwgt (a census sampling weight, not an attribute of the person) is dropped, as fedsilo's
# Adult preset does: 5 numeric + 98 one-hot = 103 features.
ADULT_NUMERIC = ["age", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
ADULT_CATEGORICAL = ["workclass", "education", "marital-status", "occupation", "relationship",
                     "race", "sex", "native-country"]


def _read_adult_rows(path, skip_first):
    rows = []
    with open(path) as f:
        lines = f.read().splitlines()
    for line in lines[1 if skip_first else 0:]:
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != len(ADULT_COLUMNS) or "?" in cells:
            continue
        cells[-1] = cells[-1].rstrip(".")
        rows.append(cells)
    return rows


def load_adult(data_dir):
    """Returns (x_train, y_train, x_test, y_test, feature_names): float64 features, 0/1 labels."""
    train = _read_adult_rows(os.path.join(data_dir, "adult", "adult.data"), False)
    test = _read_adult_rows(os.path.join(data_dir, "adult", "adult.test"), True)
    col = {name: i for i, name in enumerate(ADULT_COLUMNS)}
    blocks_train, blocks_test, names = [], [], []
    for name in ADULT_NUMERIC:
        a = np.array([float(r[col[name]]) for r in train])
        b = np.array([float(r[col[name]]) for r in test])
        mean, std = a.mean(), a.std()
        std = std if std > 1e-12 * max(1.0, abs(mean)) else 1.0
        blocks_train.append(((a - mean) / std)[:, None])
        blocks_test.append(((b - mean) / std)[:, None])
        names.append(name)
    for name in ADULT_CATEGORICAL:
        levels = sorted({r[col[name]] for r in train})
        index = {v: j for j, v in enumerate(levels)}
        for rows, blocks in ((train, blocks_train), (test, blocks_test)):
            m = np.zeros((len(rows), len(levels)))
            for i, r in enumerate(rows):
                j = index.get(r[col[name]])
                if j is not None:
                    m[i, j] = 1.0
            blocks.append(m)
        names += [f"{name}={v}" for v in levels]
    y_train = np.array([r[-1] == ">50K" for r in train], dtype=np.float64)
    y_test = np.array([r[-1] == ">50K" for r in test], dtype=np.float64)
    return np.hstack(blocks_train), y_train, np.hstack(blocks_test), y_test, names


def loaded_blas():
    """The BLAS/LAPACK shared libraries this process has mapped (Debian's default libblas.so.3 is
    the slow netlib reference; an OpenBLAS directory on LD_LIBRARY_PATH replaces it)."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f
                     if "blas" in line.lower() and "lapack" not in line.lower()}
    except OSError:
        return "unknown"
    return ",".join(sorted(os.path.realpath(p) for p in paths if p.startswith("/"))) or "none"


def iid_shards(n, silos, rng):
    """Shuffles range(n) with a numpy Generator and deals it into `silos` near-equal shards."""
    return np.array_split(rng.permutation(n), silos)
