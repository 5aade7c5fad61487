"""``DataLoader``: batches of a dataset, in order or shuffled, in this process or in workers."""

from __future__ import annotations

import itertools
import multiprocessing
import queue
import warnings
from typing import Any, Callable, Dict, Generic, Iterable, Iterator, List, Optional, TypeVar, Union

from ._generator import Generator, random64, seed_from_global
from ._utils.collate import default_collate, default_convert
from ._utils.worker import ExceptionWrapper, Exhausted, worker_loop
from .dataset import Dataset, IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader"]

T_co = TypeVar("T_co", covariant=True)


class _InfiniteConstantSampler(Sampler[None]):
    """The index stream of an iterable dataset: ``None`` forever."""

    def __iter__(self) -> Iterator[None]:
        while True:
            yield None


def _map_fetcher(
    dataset: Any, auto_collation: bool, collate_fn: Callable[[Any], Any]
) -> Callable[[Any], Any]:
    getitems = getattr(dataset, "__getitems__", None)

    def fetch(index: Any) -> Any:
        if not auto_collation:
            return collate_fn(dataset[index])
        if callable(getitems):
            return collate_fn(getitems(index))
        return collate_fn([dataset[i] for i in index])

    return fetch


def _iterable_fetcher(
    dataset: Any, auto_collation: bool, collate_fn: Callable[[Any], Any], drop_last: bool
) -> Callable[[Any], Any]:
    stream = iter(dataset)
    ended = False

    def fetch(index: Any) -> Any:
        nonlocal ended
        if ended:
            raise StopIteration
        if not auto_collation:
            return collate_fn(next(stream))
        batch: List[Any] = []
        for _ in index:
            try:
                batch.append(next(stream))
            except StopIteration:
                ended = True
                break
        if not batch or (ended and drop_last and len(batch) < len(index)):
            raise StopIteration
        return collate_fn(batch)

    return fetch


class DataLoader(Generic[T_co]):
    """Iterate over ``dataset`` in batches.

    Args:
        dataset: a map-style :class:`Dataset` (``__getitem__``/``__len__``) or an
            :class:`IterableDataset`.
        batch_size: samples per batch (``None`` yields single samples, uncollated).
        shuffle: a new random order every epoch (drawn from ``generator``).
        sampler: an iterable of indices to use instead (excludes ``shuffle``).
        batch_sampler: an iterable of index lists (excludes ``batch_size``, ``shuffle``,
            ``sampler`` and ``drop_last``).
        num_workers: worker processes fetching batches (0: in this process).
        collate_fn: turns a list of samples into a batch (:func:`default_collate`).
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        generator: the :class:`chaingrad.Generator` for shuffling and worker seeds; with the
            same seed the order is PyTorch's for ``torch.Generator().manual_seed(seed)``.

    Example::

        >>> ds = TensorDataset(chaingrad.randn(10, 3), chaingrad.arange(10))
        >>> for x, y in DataLoader(ds, batch_size=4, shuffle=True):
        ...     print(x.shape, y.shape)
    """

    def __init__(
        self,
        dataset: Dataset[T_co],
        batch_size: Optional[int] = 1,
        shuffle: Optional[bool] = None,
        sampler: Union[Sampler[Any], Iterable[Any], None] = None,
        batch_sampler: Union[Sampler[List[Any]], Iterable[List[Any]], None] = None,
        num_workers: int = 0,
        collate_fn: Optional[Callable[[List[Any]], Any]] = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Optional[Callable[[int], None]] = None,
        multiprocessing_context: Any = None,
        generator: Optional[Generator] = None,
        *,
        prefetch_factor: Optional[int] = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        if num_workers < 0:
            raise ValueError(
                "num_workers option should be non-negative; use num_workers=0 to disable "
                "multiprocessing."
            )
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing.let "
                "num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None."
            )
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if pin_memory:
            warnings.warn(
                "'pin_memory' argument is set as true but no accelerator is found, then device "
                "pinned memory won't be used.",
                stacklevel=2,
            )
        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self._is_iterable = isinstance(dataset, IterableDataset)
        if self._is_iterable:
            if shuffle not in {False, None}:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified shuffle option, "
                    f"but got shuffle={shuffle}"
                )
            if sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified sampler option, "
                    f"but got sampler={sampler}"
                )
            if batch_sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified batch_sampler "
                    f"option, but got batch_sampler={batch_sampler}"
                )
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, "
                    "sampler, and drop_last"
                )
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually exclusive with "
                "drop_last"
            )
        if sampler is None:
            if self._is_iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)  # type: ignore[arg-type]
            else:
                sampler = SequentialSampler(dataset)  # type: ignore[arg-type]
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)  # type: ignore[arg-type]
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self) -> Iterable[Any]:
        return self.batch_sampler if self._auto_collation else self.sampler  # type: ignore[return-value]

    def _make_fetcher(self) -> Callable[[Any], Any]:
        if self._is_iterable:
            return _iterable_fetcher(
                self.dataset, self._auto_collation, self.collate_fn, self.drop_last
            )
        return _map_fetcher(self.dataset, self._auto_collation, self.collate_fn)

    def __iter__(self) -> Iterator[Any]:
        indices = iter(self._index_sampler)
        # One draw per epoch for the workers' seeds, before the sampler draws (as PyTorch).
        base_seed = random64(self.generator) if self.generator is not None else seed_from_global()
        if self.num_workers == 0:
            return self._single_process(indices)
        return self._multi_process(indices, base_seed)

    def _single_process(self, indices: Iterator[Any]) -> Iterator[Any]:
        fetch = self._make_fetcher()
        for index in indices:
            try:
                yield fetch(index)
            except StopIteration:
                return

    def _multi_process(self, indices: Iterator[Any], base_seed: int) -> Iterator[Any]:
        ctx = self.multiprocessing_context
        if ctx is None:
            ctx = multiprocessing.get_context()
        elif isinstance(ctx, str):
            ctx = multiprocessing.get_context(ctx)
        results = ctx.Queue()
        workers = []
        index_queues = []
        for wid in range(self.num_workers):
            iq = ctx.Queue()
            w = ctx.Process(
                target=worker_loop,
                args=(self._make_fetcher, iq, results, wid, self.num_workers,
                      base_seed + wid, self.dataset, self.worker_init_fn),
                daemon=True,
            )
            w.start()
            workers.append(w)
            index_queues.append(iq)
        active = [True] * self.num_workers
        owner: Dict[int, int] = {}
        pending: Dict[int, Any] = {}
        tasks = itertools.count()
        next_out = 0
        cycle = itertools.cycle(range(self.num_workers))

        def send() -> bool:
            if not any(active):
                return False
            try:
                index = next(indices)
            except StopIteration:
                return False
            wid = next(cycle)
            while not active[wid]:
                wid = next(cycle)
            task = next(tasks)
            owner[task] = wid
            index_queues[wid].put((task, index))
            return True

        try:
            for _ in range(self.num_workers * max(self.prefetch_factor or 1, 1)):
                if not send():
                    break
            while next_out in owner:
                while next_out not in pending:
                    task, data = self._get(results, workers)
                    pending[task] = data
                data = pending.pop(next_out)
                wid = owner.pop(next_out)
                next_out += 1
                if isinstance(data, Exhausted):
                    active[wid] = False
                    index_queues[wid].put(None)
                    continue
                send()
                if isinstance(data, ExceptionWrapper):
                    data.reraise()
                yield data
        finally:
            for iq, alive in zip(index_queues, active):
                if alive:
                    iq.put(None)
            for w in workers:
                w.join(timeout=5.0)
                if w.is_alive():
                    w.terminate()

    def _get(self, results: Any, workers: List[Any]) -> Any:
        waited = 0.0
        while True:
            try:
                return results.get(timeout=1.0)
            except queue.Empty:
                waited += 1.0
                dead = [str(w.pid) for w in workers if not w.is_alive()]
                if dead:
                    raise RuntimeError(
                        f"DataLoader worker (pid(s) {', '.join(dead)}) exited unexpectedly"
                    ) from None
                if self.timeout > 0 and waited >= self.timeout:
                    raise RuntimeError(
                        f"DataLoader timed out after {self.timeout} seconds"
                    ) from None

    def __len__(self) -> int:
        if self._is_iterable:
            length = len(self.dataset)  # type: ignore[arg-type]
            if self.batch_size is not None:
                if self.drop_last:
                    return length // self.batch_size
                return -(-length // self.batch_size)
            return length
        return len(self._index_sampler)  # type: ignore[arg-type]
