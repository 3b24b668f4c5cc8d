"""The data sets of the workloads, as float32 arrays in [0, 1].

* ``digits``: scikit-learn's 8x8 handwritten digits (1,797 images, shipped inside scikit-learn,
  no download), split into train and test sets by a deterministic stratified split.
* ``cifar10``: CIFAR-10 read from a local ``cifar-10-batches-py`` folder (the "python version"
  from the CIFAR web site). accelsim never downloads it: the user downloads and unpacks it and
  passes the folder (or its parent) as ``data_dir`` / ``--data-dir``.

Images are returned channels first, ``x`` float32 of shape (N, C, H, W) with values in [0, 1]
(pixel / max pixel value), and labels ``y`` int64 of shape (N,). There is no mean/std
normalization: models are trained on [0, 1] inputs, and the integer datapath quantizes that
input to fixed point itself, so no per-channel statistics have to travel with a model.

The CIFAR batches are Python pickles. They are read with a restricted unpickler that only
allows the few numpy globals needed to rebuild an array, so a tampered file cannot run code.
"""

from __future__ import annotations

import codecs
import os
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np

from accelsim.errors import ConfigError, DataError

SPLITS = ("train", "test")
DATASETS = ("cifar10", "digits")
CIFAR_FOLDER = "cifar-10-batches-py"
_CIFAR_FILES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
_CIFAR_PIXELS = 3 * 32 * 32


def _check_split(split: object) -> str:
    """``split`` if it is "train" or "test", else a ConfigError."""
    if split not in SPLITS:
        raise ConfigError(f"split must be one of 'train', 'test', not {split!r}")
    return str(split)


def load_digits(
    split: str = "train", *, test_fraction: float = 0.25, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits: ``(x float32 (N, 1, 8, 8) in [0, 1], y int64 (N,))``.

    The train/test split is stratified by class and a pure function of ``test_fraction`` and
    ``seed``; the two splits are disjoint and together hold all 1,797 images. Pixels (0..16) are
    divided by 16.

    Raises:
        ConfigError: bad ``split``, ``test_fraction`` (must be in (0, 1)) or ``seed``.
    """
    split = _check_split(split)
    if (
        isinstance(test_fraction, bool)
        or not isinstance(test_fraction, (int, float))
        or not 0 < test_fraction < 1
    ):
        raise ConfigError(f"test_fraction must be a number in (0, 1), not {test_fraction!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise ConfigError(f"seed must be an integer in [0, 2**32), not {seed!r}")
    # scikit-learn is imported here, not at module level: it takes a second to import.
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    bunch = sklearn_digits()
    images = (bunch.images.astype(np.float32) / np.float32(16.0)).reshape(-1, 1, 8, 8)
    labels = bunch.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=test_fraction, random_state=seed, stratify=labels
    )
    if split == "train":
        return np.ascontiguousarray(x_train), np.ascontiguousarray(y_train)
    return np.ascontiguousarray(x_test), np.ascontiguousarray(y_test)


def _numpy_globals() -> dict[tuple[str, str], object]:
    """The only globals a CIFAR batch pickle may reference: what rebuilds a numpy array."""
    core = np._core if hasattr(np, "_core") else np.core  # numpy >= 2 renamed numpy.core
    reconstruct = core.multiarray._reconstruct
    frombuffer = core.numeric._frombuffer
    allowed: dict[tuple[str, str], object] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): codecs.encode,  # bytes in protocol-2 pickles written by Python 3
    }
    for package in ("numpy.core", "numpy._core"):
        allowed[(f"{package}.multiarray", "_reconstruct")] = reconstruct
        allowed[(f"{package}.numeric", "_frombuffer")] = frombuffer
    return allowed


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the numpy array globals of :func:`_numpy_globals`."""

    def __init__(self, file: object, *, source: Path) -> None:
        super().__init__(file, encoding="bytes")  # type: ignore[arg-type]
        self._source = source
        self._allowed = _numpy_globals()

    def find_class(self, module: str, name: str) -> object:
        """The allowed global ``module.name``, or a DataError refusing the file."""
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise DataError(
                f"refusing to load {str(self._source)!r}: unexpected global {module}.{name} "
                "(a CIFAR-10 batch only holds numpy arrays and lists; the file may be tampered "
                "with)"
            ) from None


def _cifar_folder(data_dir: str | os.PathLike[str]) -> Path:
    """The ``cifar-10-batches-py`` folder: ``data_dir`` itself or its child of that name."""
    root = Path(data_dir)
    if (root / CIFAR_FOLDER).is_dir():
        return root / CIFAR_FOLDER
    if any((root / name).is_file() for names in _CIFAR_FILES.values() for name in names):
        return root
    raise DataError(
        f"data_dir must be a {CIFAR_FOLDER} folder or its parent, not {str(root)!r} (no "
        "CIFAR-10 batches there). accelsim never downloads data: download the CIFAR-10 python "
        "version from the CIFAR web site, unpack it, and point to it with --data-dir"
    )


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 batch file: ``(uint8 (n, 3072), int64 (n,))``."""
    if not path.is_file():
        raise DataError(
            f"CIFAR-10 file {str(path)!r} is missing: the {CIFAR_FOLDER} folder must hold "
            "data_batch_1..5 and test_batch (download the python version from the CIFAR web site "
            "and unpack it whole)"
        )
    try:
        with path.open("rb") as handle:
            batch = _RestrictedUnpickler(handle, source=path).load()
    except DataError:
        raise
    except Exception as exc:  # truncated or corrupt pickles raise many exception types
        raise DataError(
            f"CIFAR-10 file {str(path)!r} is corrupt or truncated: {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(batch, dict):
        raise DataError(
            f"CIFAR-10 file {str(path)!r} must hold a dict, not a {type(batch).__name__}"
        )
    data = _entry(batch, "data", path)
    labels = _entry(batch, "labels", path)
    if (
        not isinstance(data, np.ndarray)
        or data.dtype != np.uint8
        or data.ndim != 2
        or data.shape[1] != _CIFAR_PIXELS
    ):
        raise DataError(
            f"CIFAR-10 file {str(path)!r}: data must be a uint8 array of shape "
            f"(n, {_CIFAR_PIXELS}), not {getattr(data, 'dtype', type(data).__name__)} "
            f"{getattr(data, 'shape', '')}"
        )
    n = data.shape[0]
    try:
        y = np.asarray(labels)
    except (TypeError, ValueError) as exc:  # e.g. a ragged nested list
        raise DataError(
            f"CIFAR-10 file {str(path)!r}: labels must be {n} integers in 0..9 ({exc})"
        ) from exc
    integral = y.dtype.kind in "iu" and y.shape == (n,)
    if not integral or (n and (y.min() < 0 or y.max() > 9)):
        values = f", values {y.min()}..{y.max()}" if y.dtype.kind in "iuf" and y.size else ""
        raise DataError(
            f"CIFAR-10 file {str(path)!r}: labels must be {n} integers in 0..9, not a "
            f"{y.dtype} array of shape {y.shape}{values}"
        )
    return data, y.astype(np.int64)


def _entry(batch: dict[object, object], key: str, path: Path) -> object:
    """``batch[key]``, accepting bytes keys (Python 2 pickles) and str keys."""
    for candidate in (key.encode(), key):
        if candidate in batch:
            return batch[candidate]
    raise DataError(f"CIFAR-10 file {str(path)!r} has no {key!r} entry: it is not a CIFAR-10 batch")


def load_cifar10(
    data_dir: str | os.PathLike[str], split: str = "train"
) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 from a local folder: ``(x float32 (N, 3, 32, 32) in [0, 1], y int64 (N,))``.

    ``data_dir`` is the ``cifar-10-batches-py`` folder or its parent. The train split is
    data_batch_1..5 in order (50,000 images), the test split test_batch (10,000). Pixels are
    divided by 255.

    Raises:
        ConfigError: bad ``split``.
        DataError: missing folder or file, a corrupt or tampered batch.
    """
    split = _check_split(split)
    folder = _cifar_folder(data_dir)
    parts = [_read_batch(folder / name) for name in _CIFAR_FILES[split]]
    data = np.concatenate([part[0] for part in parts])
    labels = np.concatenate([part[1] for part in parts])
    x = data.reshape(-1, 3, 32, 32).astype(np.float32)
    x /= np.float32(255.0)  # in place: the train split is 600 MB as float32
    return x, labels


def load_dataset(
    name: str, split: str = "train", data_dir: str | os.PathLike[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Data set ``name`` ("digits" or "cifar10"): ``(x float32 (N, C, H, W) in [0, 1], y int64)``.

    ``data_dir`` is required for cifar10 and must be left out for digits (which ships with
    scikit-learn: a folder given for it would silently go unread).

    Raises:
        ConfigError: unknown ``name`` or ``split``, or a ``data_dir`` for digits.
        DataError: cifar10 without ``data_dir``, or missing / corrupt files.
    """
    loaders: dict[str, Callable[[], tuple[np.ndarray, np.ndarray]]] = {
        "digits": lambda: load_digits(split),
        "cifar10": lambda: load_cifar10(_require_dir(data_dir), split),
    }
    if name not in loaders:
        raise ConfigError(f"dataset must be one of {', '.join(map(repr, DATASETS))}, not {name!r}")
    if name == "digits" and data_dir is not None:
        raise ConfigError(f"data_dir must be left out for digits (it ships with scikit-learn), not {os.fspath(data_dir)!r}")
    return loaders[name]()


def _require_dir(data_dir: str | os.PathLike[str] | None) -> str | os.PathLike[str]:
    """``data_dir``, or a DataError saying CIFAR-10 needs one."""
    if data_dir is None:
        raise DataError(
            "cifar10 needs a data_dir: download the CIFAR-10 python version from the CIFAR web "
            f"site, unpack it, and point to the {CIFAR_FOLDER} folder with --data-dir (accelsim "
            "never downloads data)"
        )
    return data_dir
