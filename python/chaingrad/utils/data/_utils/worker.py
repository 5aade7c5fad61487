"""Worker processes of the data loader: each fetches batches for the main process."""

from __future__ import annotations

import queue
import random
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Optional

import chaingrad

__all__ = ["WorkerInfo", "get_worker_info", "worker_loop", "ExceptionWrapper", "Exhausted"]


@dataclass(frozen=True)
class WorkerInfo:
    """What a worker process knows about itself (see :func:`get_worker_info`)."""

    id: int
    num_workers: int
    seed: int
    dataset: Any


_worker_info: Optional[WorkerInfo] = None


def get_worker_info() -> Optional[WorkerInfo]:
    """Inside a loader's worker process, its :class:`WorkerInfo` (``id``, ``num_workers``,
    ``seed``, ``dataset``: this worker's copy); ``None`` in the main process. An
    :class:`IterableDataset` uses it to give each worker a different share of the stream."""
    return _worker_info


class Exhausted:
    """A worker's answer when its iterable dataset has no more batches."""


class ExceptionWrapper:
    """An exception raised in a worker, carried to the main process with its traceback."""

    def __init__(self, exc: BaseException, where: str) -> None:
        self.exc_type = type(exc)
        self.message = f"Caught {type(exc).__name__} {where}.\nOriginal {traceback.format_exc()}"

    def reraise(self) -> None:
        try:
            err = self.exc_type(self.message)
        except Exception:
            raise RuntimeError(self.message) from None
        raise err


def worker_loop(
    make_fetcher: Callable[[], Callable[[Any], Any]],
    index_queue: Any,
    result_queue: Any,
    worker_id: int,
    num_workers: int,
    seed: int,
    dataset: Any,
    init_fn: Optional[Callable[[int], None]],
) -> None:
    """Answer ``(task, indices)`` requests with ``(task, batch)`` until sent ``None``."""
    global _worker_info
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    random.seed(seed)
    chaingrad.manual_seed(seed)
    fetch: Optional[Callable[[Any], Any]] = None
    try:
        if init_fn is not None:
            init_fn(worker_id)
        fetch = make_fetcher()
    except Exception as exc:  # reported on the first request
        failure: Optional[ExceptionWrapper] = ExceptionWrapper(
            exc, f"in DataLoader worker process {worker_id}"
        )
    else:
        failure = None
    while True:
        try:
            request = index_queue.get(timeout=5.0)
        except queue.Empty:
            continue
        if request is None:
            break
        task, indices = request
        if failure is not None or fetch is None:
            result_queue.put((task, failure))
            continue
        try:
            data: Any = fetch(indices)
        except StopIteration:
            data = Exhausted()
        except Exception as exc:
            data = ExceptionWrapper(exc, f"in DataLoader worker process {worker_id}")
        result_queue.put((task, data))
