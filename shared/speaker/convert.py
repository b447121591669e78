"""Build step: Resemblyzer's pretrained GE2E encoder → ``weights.npz``, without torch.

``python -m shared.speaker.convert`` downloads the pinned Resemblyzer wheel from PyPI with pip
(``--no-deps``: none of its run-time dependencies is installed), checks its SHA-256, and rebuilds
the weights from ``resemblyzer/pretrained.pt``. That file is torch's legacy serialisation: a few
small pickles (magic number, protocol version, system info), the checkpoint pickle whose tensors
point through persistent ids at storages, the list of storage keys, then each storage's raw bytes
(an int64 element count and the little-endian data). A restricted unpickler accepts only the few
globals a state dict needs, so nothing in the file can run code.

Run by ``make setup`` (and so before ``make package``); the archive is not committed.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import io
import pickle
import struct
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

RESEMBLYZER_VERSION = "0.1.4"
WHEEL = f"Resemblyzer-{RESEMBLYZER_VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "8f12eb2f1a9982d32e8db7856de754709b59c93a77bcf0ff536584b619a9dd1f"
WEIGHTS = Path(__file__).with_name("weights.npz")
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}
# The tensors the encoder needs (the GE2E similarity scale and the optimiser state are dropped).
NEEDED = tuple(
    [f"lstm.{p}_l{layer}" for layer in range(3) for p in ("weight_ih", "weight_hh")]
    + [f"lstm.{p}_l{layer}" for layer in range(3) for p in ("bias_ih", "bias_hh")]
    + ["linear.weight", "linear.bias"]
)


@dataclass(frozen=True)
class _StorageRef:
    key: str
    dtype: type


@dataclass(frozen=True)
class _TensorRef:
    storage: _StorageRef
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor(storage: _StorageRef, offset: int, shape: Any, stride: Any, *_: Any) -> Any:
    return _TensorRef(storage, int(offset), tuple(shape), tuple(stride))


class _CheckpointUnpickler(pickle.Unpickler):
    """Only what a checkpoint of plain tensors needs; every other global is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return name
        raise pickle.UnpicklingError(f"refused global {module}.{name}")

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__(stream)
        self.storages: dict[str, _StorageRef] = {}

    def persistent_load(self, pid: Any) -> _StorageRef:
        kind, storage_type, key, *_ = pid
        if kind != "storage" or storage_type not in _STORAGE_DTYPES:
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        ref = _StorageRef(str(key), _STORAGE_DTYPES[storage_type])
        self.storages[ref.key] = ref
        return ref


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refused global {module}.{name}")


def load_legacy_checkpoint(stream: IO[bytes]) -> dict[str, Any]:
    """A torch legacy-format checkpoint as nested dicts whose tensors are numpy arrays."""
    if _PlainUnpickler(stream).load() != LEGACY_MAGIC:
        raise ValueError("not a torch legacy checkpoint (magic number)")
    if _PlainUnpickler(stream).load() != 1001:
        raise ValueError("unknown torch protocol version")
    sys_info = _PlainUnpickler(stream).load()
    if not sys_info.get("little_endian", False):
        raise ValueError("big-endian checkpoints are not supported")
    unpickler = _CheckpointUnpickler(stream)
    checkpoint = unpickler.load()
    seen = unpickler.storages
    keys = _PlainUnpickler(stream).load()
    storages: dict[str, np.ndarray] = {}
    for key in keys:
        (count,) = struct.unpack("<q", stream.read(8))
        dtype = np.dtype(seen[key].dtype)
        data = stream.read(count * dtype.itemsize)
        if len(data) != count * dtype.itemsize:
            raise ValueError(f"storage {key} is truncated")
        storages[key] = np.frombuffer(data, dtype=dtype)

    def materialise(value: Any) -> Any:
        if isinstance(value, _TensorRef):
            flat = storages[value.storage.key]
            itemsize = flat.dtype.itemsize
            view = np.lib.stride_tricks.as_strided(
                flat[value.offset :],
                shape=value.shape,
                strides=tuple(s * itemsize for s in value.stride),
            )
            return np.array(view)  # a contiguous copy
        if isinstance(value, dict):
            return {k: materialise(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(materialise(v) for v in value)
        return value

    return materialise(checkpoint)


def weights_from_pt(stream: IO[bytes]) -> dict[str, np.ndarray]:
    state = load_legacy_checkpoint(stream)["model_state"]
    missing = [name for name in NEEDED if name not in state]
    if missing:
        raise ValueError(f"checkpoint lacks {missing}")
    return {name: np.asarray(state[name], dtype=np.float32) for name in NEEDED}


def download_wheel(directory: Path) -> Path:
    """The pinned wheel, fetched with pip (no dependencies) and checked against its hash."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--only-binary",
            ":all:",
            "--dest",
            str(directory),
            f"resemblyzer=={RESEMBLYZER_VERSION}",
        ],
        check=True,
    )
    wheel = directory / WHEEL
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        raise SystemExit(f"{WHEEL}: SHA-256 {digest}, expected {WHEEL_SHA256}")
    return wheel


def convert(wheel: Path, out: Path = WEIGHTS) -> Path:
    with zipfile.ZipFile(wheel) as archive:
        pt = archive.read("resemblyzer/pretrained.pt")
    weights = weights_from_pt(io.BytesIO(pt))
    tmp = out.with_suffix(".tmp.npz")
    arrays: dict[str, Any] = {"resemblyzer_version": np.array(RESEMBLYZER_VERSION), **weights}
    np.savez(tmp, **arrays)
    tmp.replace(out)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="a Resemblyzer wheel already downloaded")
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    args = parser.parse_args(argv)
    if args.wheel:
        path = convert(args.wheel, args.out)
    else:
        with tempfile.TemporaryDirectory() as directory:
            path = convert(download_wheel(Path(directory)), args.out)
    print(f"{path} ({path.stat().st_size / 1e6:.1f} MB) from Resemblyzer {RESEMBLYZER_VERSION}")


if __name__ == "__main__":
    main()
