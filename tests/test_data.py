"""Tests for chaingrad.utils.data: datasets, samplers, collation and the loader, compared with
torch.utils.data (same seeds give the same orders) when PyTorch is installed."""

from collections import namedtuple

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402
from chaingrad.utils.data import (  # noqa: E402
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    default_collate,
    get_worker_info,
    random_split,
)


def torch_or_skip():
    return pytest.importorskip("torch")


def as_lists(batches):
    """Batches (possibly nested lists/dicts of tensors) as plain Python values."""
    def conv(x):
        if hasattr(x, "tolist"):
            return x.tolist()
        if isinstance(x, dict):
            return {k: conv(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [conv(v) for v in x]
        return x
    return [conv(b) for b in batches]


def datasets(n=10):
    torch = torch_or_skip()
    ours = TensorDataset(chaingrad.arange(n).double() * 0.5, chaingrad.arange(n))
    theirs = torch.utils.data.TensorDataset(torch.arange(n).double() * 0.5, torch.arange(n))
    return ours, theirs


# ---------------------------------------------------------------- datasets
def test_tensor_dataset_and_subset():
    x = chaingrad.arange(6).reshape(3, 2)
    y = chaingrad.tensor([7, 8, 9])
    ds = TensorDataset(x, y)
    assert len(ds) == 3
    a, b = ds[1]
    assert a.tolist() == [2, 3] and b.item() == 8
    sub = Subset(ds, [2, 0])
    assert len(sub) == 2 and sub[0][1].item() == 9 and sub[1][1].item() == 7
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(x, chaingrad.zeros(4))


def test_concat_dataset():
    a = TensorDataset(chaingrad.arange(3))
    b = TensorDataset(chaingrad.arange(10, 14))
    cat = a + b
    assert isinstance(cat, ConcatDataset) and len(cat) == 7
    assert [cat[i][0].item() for i in range(7)] == [0, 1, 2, 10, 11, 12, 13]
    assert cat[-1][0].item() == 13
    with pytest.raises(ValueError, match="absolute value of index"):
        cat[-8]


class Squares(Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": np.full(2, i, dtype=np.float64), "y": i * i, "name": f"s{i}"}


def test_dict_numpy_string_collation_matches_torch():
    torch = torch_or_skip()

    class TorchSquares(torch.utils.data.Dataset):
        __len__ = Squares.__len__
        __getitem__ = Squares.__getitem__

    ours = as_lists(DataLoader(Squares(), batch_size=2))
    theirs = as_lists(torch.utils.data.DataLoader(TorchSquares(), batch_size=2))
    assert ours == theirs
    batch = next(iter(DataLoader(Squares(), batch_size=2)))
    assert batch["x"].dtype == chaingrad.float64 and batch["y"].dtype == chaingrad.int64


def test_default_collate_kinds():
    Point = namedtuple("Point", "x y")
    out = default_collate([Point(1.0, 2), Point(3.0, 4)])
    assert isinstance(out, Point) and out.x.dtype == chaingrad.float64 and out.y.tolist() == [2, 4]
    out = default_collate([(chaingrad.tensor([1.0]), 0), (chaingrad.tensor([2.0]), 1)])
    assert isinstance(out, list) and out[0].tolist() == [[1.0], [2.0]] and out[1].tolist() == [0, 1]
    assert default_collate([np.float32(1.5), np.float32(2.5)]).tolist() == [1.5, 2.5]
    assert default_collate([True, False]).dtype == chaingrad.bool
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="default_collate: batch must contain tensors"):
        default_collate([object(), object()])


# ---------------------------------------------------------------- loader
@pytest.mark.parametrize("batch_size,drop_last", [(3, False), (3, True), (5, False), (1, False)])
def test_sequential_loader_matches_torch(batch_size, drop_last):
    torch = torch_or_skip()
    ours, theirs = datasets()
    a = DataLoader(ours, batch_size=batch_size, drop_last=drop_last)
    b = torch.utils.data.DataLoader(theirs, batch_size=batch_size, drop_last=drop_last)
    assert len(a) == len(b)
    assert as_lists(a) == as_lists(b)


@pytest.mark.parametrize("seed", [0, 1, 12345, 2**40 + 7])
def test_shuffle_with_generator_matches_torch_each_epoch(seed):
    torch = torch_or_skip()
    ours, theirs = datasets(13)
    a = DataLoader(ours, batch_size=4, shuffle=True, generator=chaingrad.Generator().manual_seed(seed))
    b = torch.utils.data.DataLoader(
        theirs, batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(seed)
    )
    for _ in range(3):
        assert as_lists(a) == as_lists(b)


def test_shuffle_without_generator_follows_manual_seed():
    ds = TensorDataset(chaingrad.arange(20))
    chaingrad.manual_seed(3)
    first = as_lists(DataLoader(ds, batch_size=5, shuffle=True))
    chaingrad.manual_seed(3)
    again = as_lists(DataLoader(ds, batch_size=5, shuffle=True))
    assert first == again
    flat = sorted(v for b in first for v in b[0])
    assert flat == list(range(20)) and first != as_lists(DataLoader(ds, batch_size=5))


def test_batch_size_none_and_custom_collate():
    loader = DataLoader(Squares(), batch_size=None)
    first = next(iter(loader))
    assert isinstance(first["x"], chaingrad.Tensor) and first["y"] == 0 and len(loader) == 5
    loader = DataLoader(Squares(), batch_size=2, collate_fn=lambda samples: len(samples))
    assert list(loader) == [2, 2, 1]


def test_sampler_and_batch_sampler_arguments():
    ds = TensorDataset(chaingrad.arange(6))
    loader = DataLoader(ds, sampler=[5, 3, 1], batch_size=2)
    assert as_lists(loader) == [[[5, 3]], [[1]]]
    loader = DataLoader(ds, batch_sampler=[[0, 1, 2], [5]])
    assert as_lists(loader) == [[[0, 1, 2]], [[5]]] and len(loader) == 2


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(sampler=[0], shuffle=True), "sampler option is mutually exclusive with shuffle"),
        (dict(batch_sampler=[[0]], batch_size=2), "batch_sampler option is mutually exclusive"),
        (dict(batch_size=None, drop_last=True), "batch_size=None option disables auto-batching"),
        (dict(num_workers=-1), "num_workers option should be non-negative"),
        (dict(prefetch_factor=2), "prefetch_factor option could only be specified"),
        (dict(persistent_workers=True), "persistent_workers option needs num_workers > 0"),
    ],
)
def test_loader_argument_errors_match_torch(kwargs, message):
    torch = torch_or_skip()
    ours, theirs = datasets()
    with pytest.raises(ValueError) as ours_err:
        DataLoader(ours, **kwargs)
    with pytest.raises(ValueError) as theirs_err:
        torch.utils.data.DataLoader(theirs, **kwargs)
    assert str(ours_err.value) == str(theirs_err.value)
    assert message in str(ours_err.value)


class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))


def test_iterable_dataset_single_process():
    loader = DataLoader(Stream(7), batch_size=3)
    assert as_lists(loader) == [[0, 1, 2], [3, 4, 5], [6]] and len(loader) == 3
    loader = DataLoader(Stream(7), batch_size=3, drop_last=True)
    assert as_lists(loader) == [[0, 1, 2], [3, 4, 5]] and len(loader) == 2
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        DataLoader(Stream(3), shuffle=True)


def test_workers_give_the_same_batches_in_order():
    ds = TensorDataset(chaingrad.arange(23).double())
    serial = as_lists(DataLoader(ds, batch_size=4, shuffle=True, generator=chaingrad.Generator().manual_seed(9)))
    parallel = as_lists(
        DataLoader(ds, batch_size=4, shuffle=True, num_workers=2,
                   generator=chaingrad.Generator().manual_seed(9))
    )
    assert parallel == serial


def test_iterable_dataset_with_workers_matches_torch():
    torch = torch_or_skip()

    class TorchStream(torch.utils.data.IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            info = torch.utils.data.get_worker_info()
            return iter(range(info.id, self.n, info.num_workers))

    ours = as_lists(DataLoader(Stream(11), batch_size=2, num_workers=2))
    theirs = as_lists(torch.utils.data.DataLoader(TorchStream(11), batch_size=2, num_workers=2))
    assert ours == theirs


class Broken(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        if i == 2:
            raise KeyError("bad sample")
        return i


def test_worker_exception_reaches_the_main_process():
    with pytest.raises(KeyError, match="Caught KeyError in DataLoader worker process"):
        list(DataLoader(Broken(), batch_size=1, num_workers=2))


# ---------------------------------------------------------------- samplers and splits
def test_samplers_match_torch():
    torch = torch_or_skip()
    data = range(9)
    for kwargs in [dict(), dict(replacement=True), dict(replacement=True, num_samples=70),
                   dict(num_samples=20)]:
        ours = RandomSampler(data, generator=chaingrad.Generator().manual_seed(4), **kwargs)
        theirs = torch.utils.data.RandomSampler(data, generator=torch.Generator().manual_seed(4), **kwargs)
        assert len(ours) == len(theirs)
        assert list(ours) == list(theirs)
    ours = SubsetRandomSampler([10, 20, 30, 40], generator=chaingrad.Generator().manual_seed(1))
    theirs = torch.utils.data.SubsetRandomSampler(
        [10, 20, 30, 40], generator=torch.Generator().manual_seed(1)
    )
    assert list(ours) == list(theirs)
    assert list(BatchSampler(SequentialSampler(range(5)), 2, False)) == [[0, 1], [2, 3], [4]]
    assert len(BatchSampler(range(5), 2, True)) == 2
    with pytest.raises(ValueError, match="batch_size should be a positive integer value"):
        BatchSampler(range(5), 0, False)
    with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
        RandomSampler(data, num_samples=0)


@pytest.mark.parametrize("lengths", [[3, 7], [0.3, 0.3, 0.4], [0.5, 0.5], [1, 1, 8]])
def test_random_split_matches_torch(lengths):
    torch = torch_or_skip()
    ours = random_split(range(10), lengths, generator=chaingrad.Generator().manual_seed(2))
    theirs = torch.utils.data.random_split(range(10), lengths, generator=torch.Generator().manual_seed(2))
    assert [list(s) for s in ours] == [list(s) for s in theirs]


def test_random_split_errors():
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        random_split(range(10), [3, 3])
    parts = random_split(range(10), [0.5, 0.5])
    assert sorted(list(parts[0]) + list(parts[1])) == list(range(10))


def test_generator_state_round_trip():
    g = chaingrad.Generator().manual_seed(11)
    assert g.initial_seed() == 11
    state = g.get_state()
    first = list(RandomSampler(range(8), generator=g))
    g.set_state(state)
    assert list(RandomSampler(range(8), generator=g)) == first
    assert chaingrad.Generator().initial_seed() == 67280421310721
