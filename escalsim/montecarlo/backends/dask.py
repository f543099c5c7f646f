"""The dask.distributed backend: an existing cluster by its scheduler address, or a LocalCluster ("local")."""

from __future__ import annotations

import signal
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from escalsim import __version__
from escalsim.montecarlo.backends.base import Backend, BackendError, available_cores, in_order, window_limit

DASK_CONNECT_TIMEOUT = 10.0          # seconds


@contextmanager
def sigint_ignored() -> Iterator[None]:
    """Ignore Ctrl-C while starting processes that should leave it to this one (main thread only)."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: leave the signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _escalsim_version() -> str:
    from escalsim import __version__ as version

    return version


def _check_address(address: str) -> None:
    """A malformed address is refused before Client sees it: some (tcp://host:notaport) hang its connection."""
    from distributed.comm import parse_address
    from distributed.comm.addressing import parse_host_port

    try:
        scheme, location = parse_address(address)
        if scheme in ("tcp", "tls", "ws", "wss"):
            parse_host_port(location)
    except ValueError as exc:
        raise BackendError(f"{address!r} is not a Dask scheduler address ({exc}); a scheduler's address looks "
                           "like tcp://host:8786, or use 'local'") from None


class DaskBackend(Backend):
    """A dask.distributed cluster: "local" starts a LocalCluster of processes, else a scheduler address."""

    name = "dask"
    RETRIES = 2           # task exceptions retried; lost workers are handled by the scheduler (allowed-failures)

    def __init__(self, address: str, workers: int | None = None, timeout: float = DASK_CONNECT_TIMEOUT):
        self.address = address
        self.timeout = timeout
        self.workers = workers or available_cores()  # a LocalCluster: a worker per core, like the process pool
        self.client = None
        self.cluster = None

    @property
    def started(self) -> bool:
        """Whether a client is connected."""
        return self.client is not None

    def start(self) -> None:
        """Start a LocalCluster or connect to the scheduler, then check the workers' escalsim version.

        Raises BackendError (after stopping again) when dask.distributed is missing, the address is
        malformed, the scheduler cannot be reached or has no workers, or a worker runs another
        version."""
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError as exc:
            raise BackendError("the Dask backend needs dask.distributed: pip install 'escalsim[dask]'") from exc
        try:
            if self.address == "local":
                with sigint_ignored():  # the workers inherit it: Ctrl-C is for this process, which stops them
                    self.cluster = LocalCluster(n_workers=self.workers, processes=True, threads_per_worker=1,
                                                dashboard_address=":0")  # any free port: 8787 may be taken
                self.client = Client(self.cluster)
            else:
                _check_address(self.address)
                try:
                    self.client = Client(self.address, timeout=self.timeout)
                except (OSError, TimeoutError) as exc:
                    raise BackendError(f"could not reach the Dask scheduler at {self.address} within "
                                       f"{self.timeout:g} s: {exc}") from None
                except Exception as exc:  # a malformed address, or a server that does not speak Dask
                    raise BackendError(f"could not connect to a Dask scheduler at {self.address} "
                                       f"({type(exc).__name__}: {exc}); a scheduler's address looks like "
                                       "tcp://host:8786") from None
                try:  # a scheduler without workers would take the runs and never run them
                    self.client.wait_for_workers(1, timeout=self.timeout)
                except (OSError, TimeoutError):
                    raise BackendError(f"the Dask scheduler at {self.address} has no workers (waited "
                                       f"{self.timeout:g} s); start some with: dask worker {self.address}") from None
                self.workers = sum(self.client.nthreads().values()) or 1
            self._check_workers()
        except BaseException:
            self.stop(kill=True)
            raise

    def _check_workers(self) -> None:
        """Every worker must run this escalsim version, or the runs would not be the same bit for bit."""
        try:
            versions = self.client.run(_escalsim_version)
        except ImportError as exc:
            raise BackendError(f"the Dask workers at {self.address} cannot import escalsim ({exc}); "
                               f"install escalsim {__version__} on them") from None
        wrong = {w: v for w, v in versions.items() if v != __version__}
        if wrong:
            raise BackendError(f"Dask workers run other escalsim versions than {__version__}: {wrong}")

    def stop(self, kill: bool) -> None:
        """Close the client and the local cluster, if any (`kill` changes nothing here)."""
        client, cluster, self.client, self.cluster = self.client, self.cluster, None, None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    def map_ordered(self, fn: Callable, job: Any, ranges: Iterator[tuple[int, int]]) -> Iterator[Any]:
        """As Backend.map_ordered, each task retried RETRIES times on an exception. Raises
        BackendError if not started, or when workers keep dying on a batch."""
        if self.client is None:
            raise BackendError("start the DaskBackend first: `with DaskBackend(address) as backend: ...`")
        from distributed import KilledWorker

        client = self.client

        def result(window: deque) -> Any:
            (a, b), future, _attempts = window[0]
            try:
                batch = future.result()
            except KilledWorker as exc:
                raise BackendError(f"Dask workers kept dying while running runs {a} to {b - 1}: {exc}") from None
            future.release()
            return batch

        def cancel(futures: list) -> None:
            if self.client is not None:
                client.cancel(futures)

        return in_order(ranges, window_limit(self.workers),
                        lambda r: client.submit(fn, job, *r, pure=False, retries=self.RETRIES), result, cancel)
