"""Where DATA and SEEDS live: a local directory or an object store (`s3://bucket/prefix`), one interface.

`LocalStore` replaces a file atomically by writing a temporary file in the same directory, fsyncing and
renaming it over the old one, and locks with flock. `ArrowStore` goes through pyarrow's filesystems (S3 with
the standard AWS variables, `AWS_ENDPOINT_URL` for S3-compatible stores): an object is replaced by one PUT,
which readers see whole or not at all, and the lock is a lease object created with a conditional PUT.
"""

import contextlib
import ctypes
import fcntl
import io
import itertools
import json
import os
import stat
import sys
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

import polars as pl
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

_TMP_SUFFIX = ".tmp"
_WILLNEED: int | None = getattr(os, "POSIX_FADV_WILLNEED", None)  # Linux and the BSDs, not macOS
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None
LOCK_NAME = ".lock"
# How long an object-store lock outlives a run that died without releasing it.
LOCK_LEASE_SECONDS = float(os.environ.get("NEWSLAKE_LOCK_LEASE_SECONDS", "21600"))
_LOCK_TAKEN = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})


class StoreError(OSError):
    """A store that cannot be opened, read or written."""


class Locked(StoreError):
    """Another run holds the store's lock."""


@dataclass(frozen=True, slots=True)
class FileInfo:
    key: str  # relative to the store's root, with forward slashes
    size: int
    mtime_ns: int


class Store(Protocol):
    uri: str
    concurrency: int  # how many of its requests are worth having in flight at once (`each`, `ahead`)

    def exists(self, key: str) -> bool: ...
    def size(self, key: str) -> int | None: ...
    def read_bytes(self, key: str) -> bytes: ...
    def will_read(self, key: str, size: int) -> None: ...
    def write_atomic(self, key: str, data: bytes) -> None: ...
    def open_input(self, key: str) -> pa.NativeFile: ...
    def writing_file(self, key: str) -> contextlib.AbstractContextManager[Path]: ...
    def synced_together(self) -> contextlib.AbstractContextManager[None]: ...
    def delete(self, key: str) -> None: ...
    def list_files(self, prefix: str = "") -> list[FileInfo]: ...
    def remove_empty_dirs(self, prefix: str) -> None: ...
    def remove_temporaries(self, prefix: str) -> int: ...
    def check_writable(self) -> None: ...
    def lock(self, wait_seconds: float) -> contextlib.AbstractContextManager[None]: ...


def open_store(location: "str | Path | Store") -> Store:
    """A store for a local path, a `file://` URI or an object-store URI such as `s3://bucket/prefix`."""
    if isinstance(location, LocalStore | ArrowStore):
        return location
    text = str(location)
    if "://" in text and not text.startswith("file://"):
        return ArrowStore(text)
    return LocalStore(Path(text.removeprefix("file://")))


A = TypeVar("A")
R = TypeVar("R")


def each(store: Store, work: Callable[[A], R], items: Iterable[A]) -> list[R]:
    """`work` done on each item, in order, up to `store.concurrency` items at once (on threads: the work waits on
    the store's requests with the GIL released); `ahead`, all of it asked for at once. The first error is raised
    once the work started has ended; work not started by then is not."""
    return list(ahead(store, work, items))


def ahead(store: Store, work: Callable[[A], R], items: Iterable[A]) -> Iterator[R]:
    """`work` done on each item, handed out in order as the caller asks for them. From a store whose requests
    are worth overlapping, the work of up to `store.concurrency` items runs ahead of the caller (on threads, as
    in `each`), so that at most that many results wait to be asked for; from a folder, each item's work is done
    when it is asked for, as a plain loop would. An error is raised where its item is handed out, once the work
    started has ended; work not started by then is not."""
    if store.concurrency <= 1:
        yield from map(work, items)
        return
    todo = iter(items)
    with ThreadPoolExecutor(store.concurrency, thread_name_prefix="newslake-store") as pool:
        running = deque(pool.submit(work, item) for item in itertools.islice(todo, store.concurrency))
        while running:
            done = running.popleft()
            running.extend(pool.submit(work, item) for item in itertools.islice(todo, 1))
            yield done.result()


def read_parquet(store: Store, key: str, schema: pl.Schema) -> pl.DataFrame:
    return pl.read_parquet(io.BytesIO(store.read_bytes(key)), schema=schema)


def write_parquet(
    store: Store, key: str, frame: pl.DataFrame, row_group_rows: int | None = None, *, staged: bool = False
) -> None:
    """Write a frame as one Parquet file (row groups of `row_group_rows` rows when given): zstd with column
    statistics, what the lake's readers get; `staged` rows, which the run reads once and deletes, lz4
    without statistics (`STAGED_ENCODING`)."""
    buffer = io.BytesIO()
    if staged:
        frame.write_parquet(buffer, **STAGED_ENCODING, row_group_size=row_group_rows)
    else:
        frame.write_parquet(buffer, compression="zstd", statistics=True, row_group_size=row_group_rows)
    store.write_atomic(key, buffer.getvalue())


def lake_parquet_options(dictionary: bool | list[str]) -> dict[str, Any]:
    """pyarrow's writer options for a lake file: zstd, column statistics (pyarrow's default), the columns
    `dictionary` names dictionary-encoded (all of them: True). A file written whole and one written by row
    groups (a large day's merge) take the same."""
    return {"compression": "zstd", "use_dictionary": dictionary}


def write_arrow_parquet(store: Store, key: str, rows: pa.Table, dictionary: bool | list[str]) -> None:
    """Write Arrow rows as one lake Parquet file (`lake_parquet_options`)."""
    buffer = pa.BufferOutputStream()
    pq.write_table(rows, buffer, **lake_parquet_options(dictionary))
    store.write_atomic(key, buffer.getvalue().to_pybytes())


# Staged rows are written once and read once by the commit, by the run that wrote them, and nothing queries
# their statistics (a merge step slices row groups by their row counts). A 750-seed batch's six files, written
# and read back in four spans each (median of 7): zstd with statistics 63-67 + 43-48 ms, lz4 without 32-40 +
# 26-32 ms (2.4 MB against 1.7), uncompressed 25 + 25 ms (4.3 MB: twice lz4's bytes, which an object
# store's requests carry).
STAGED_ENCODING: dict[str, Any] = {"compression": "lz4", "statistics": False}


def _holder() -> str:
    return f"pid {os.getpid()} on {os.uname().nodename} since {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}"


# While a LocalStore writes files synced together, it renames what is pending once this many bytes wait
# (the old files stay until then: the disk holds both).
PENDING_BYTES = 256 * 2**20


class LocalStore:
    # One request at a time: a file's write is the CPU's work (encoding) and the disk's, and the files written
    # `synced_together` are gathered in state its threads would share.
    concurrency = 1

    def __init__(self, root: Path) -> None:
        self.root = root
        self.uri = str(root)
        self._pending: list[tuple[Path, Path]] | None = None  # (temporary, target) awaiting one sync
        self._pending_bytes = 0

    def _path(self, key: str) -> Path:
        return self.root / key

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int | None:
        """The file's size in bytes, or None when there is no such file (one stat, as `exists`)."""
        try:
            status = self._path(key).stat()
        except FileNotFoundError:
            return None
        return status.st_size if stat.S_ISREG(status.st_mode) else None

    def read_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def will_read(self, key: str, size: int) -> None:
        """Tell the kernel that the first `size` bytes of the file will be read soon (`POSIX_FADV_WILLNEED`): it
        starts reading what is not in the page cache from the disk and returns, so that the read overlaps the
        caller's work on the files before it. A hint only: a file that cannot be opened is left to its read to
        report, and where there is no such call (macOS) nothing is done. `size` 0 asks nothing (the kernel would
        read a length of 0 as the whole file)."""
        if _WILLNEED is None or size <= 0:
            return
        try:
            # O_NONBLOCK: a FIFO among the files must not block the open (its read reports it).
            fd = os.open(self._path(key), os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return  # missing or unreadable: `read_bytes` raises, and the seed is rejected with the reason
        try:
            os.posix_fadvise(fd, 0, size, _WILLNEED)
        except OSError:
            pass  # a file system that takes no advice reads the file when asked, as without the hint
        finally:
            os.close(fd)

    def write_atomic(self, key: str, data: bytes) -> None:
        with self.writing_file(key) as tmp:
            tmp.write_bytes(data)

    def open_input(self, key: str) -> pa.NativeFile:
        return pa.OSFile(str(self._path(key)), "r")

    @contextlib.contextmanager
    def writing_file(self, key: str) -> Iterator[Path]:
        """A path to write the key's new content to (`write_atomic` writes its bytes there). When the block
        ends normally and the file was written, it replaces the key: a temporary file in the same directory,
        fsync, rename, fsync of the directory (inside `synced_together`, later and for many files at once);
        when it raises, or wrote nothing, the key is untouched and the file removed."""
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}{_TMP_SUFFIX}")
        pending = False
        try:
            yield tmp
            if self._pending is not None and tmp.exists():
                self._pending.append((tmp, target))
                pending = True
                self._pending_bytes += tmp.stat().st_size
                if self._pending_bytes >= PENDING_BYTES:
                    self._rename_pending()
                return
            if tmp.exists():
                with tmp.open("rb+") as handle:
                    os.fsync(handle.fileno())
                tmp.replace(target)
                _fsync_dir(target.parent)
        finally:
            if not pending:
                tmp.unlink(missing_ok=True)

    @contextlib.contextmanager
    def synced_together(self) -> Iterator[None]:
        """Files written in this block replace their keys when it ends (or every `PENDING_BYTES`), all
        synced at once: the temporary files, one sync of the file system, the renames, another sync. A
        reader sees each key's old file until then, and the new one after; as one file at a time, no key is
        replaced before its new content is on disk, and every replacement is durable when the block ends.
        If the block raises (a crash of the process leaves temporaries, as before), nothing pending
        replaces anything.

        An fsync of a file and one of its directory cost ~0.5 ms a file here (a commit of 1500 seeds writes
        289 small files: 131-171 ms written one at a time, 46-54 ms synced together)."""
        if self._pending is not None:  # already inside: the outer block syncs
            yield
            return
        self._pending, self._pending_bytes = [], 0
        try:
            yield
            self._rename_pending()
        finally:
            for tmp, _ in self._pending:
                tmp.unlink(missing_ok=True)
            self._pending = None

    def _rename_pending(self) -> None:
        assert self._pending is not None
        if self._pending:
            _sync_file_system(self.root)
            for tmp, target in self._pending:
                tmp.replace(target)
            _sync_file_system(self.root)
        self._pending.clear()
        self._pending_bytes = 0

    def delete(self, key: str) -> None:
        path = self._path(key)
        if path.exists():
            path.unlink()
            _fsync_dir(path.parent)

    def list_files(self, prefix: str = "") -> list[FileInfo]:
        base = self._path(prefix) if prefix else self.root
        if not base.is_dir():
            return []
        out: list[FileInfo] = []
        relative = base.relative_to(self.root).as_posix()
        pending = [(str(base), "" if relative == "." else relative + "/")]
        while pending:
            directory, key_prefix = pending.pop()
            # A directory that cannot be read raises: `Path.rglob` passed over it without a word, and the seeds
            # in it would have gone unlisted (the ledger counting them missing).
            with os.scandir(directory) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):  # a link to a directory is not descended, as rglob
                        pending.append((entry.path, f"{key_prefix}{entry.name}/"))
                    elif entry.is_file():  # follows a link to a file, as `Path.is_file`
                        try:
                            status = entry.stat()
                        except FileNotFoundError:  # removed since the directory was read: not there to list
                            continue
                        out.append(FileInfo(key_prefix + entry.name, status.st_size, status.st_mtime_ns))
        return sorted(out, key=lambda f: f.key)

    def remove_empty_dirs(self, prefix: str) -> None:
        """Remove the directories under `prefix` (and it) that hold no file, deepest first."""
        base = self._path(prefix)
        if not base.is_dir():
            return
        directories = sorted((p for p in base.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True)
        for directory in [*directories, base]:
            if not any(directory.iterdir()):
                directory.rmdir()

    def remove_temporaries(self, prefix: str) -> int:
        """Remove the temporary files in directory `prefix` (not below it) that writes killed before their
        rename left behind; only for a caller holding the lock, when no write can be under way."""
        directory = self._path(prefix)
        if not directory.is_dir():
            return 0
        left = [p for p in directory.iterdir() if p.name.startswith(".") and p.name.endswith(_TMP_SUFFIX)]
        for path in left:
            path.unlink(missing_ok=True)
        return len(left)

    def check_writable(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".write-probe-{uuid.uuid4().hex}{_TMP_SUFFIX}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise StoreError(f"cannot write to {self.root}: {exc.strerror or exc}") from exc

    @contextlib.contextmanager
    def lock(self, wait_seconds: float) -> Iterator[None]:
        """flock on ROOT/.lock: the kernel releases it when the holder dies, so a killed run never blocks."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / LOCK_NAME).open("a+", encoding="utf-8") as handle:
            deadline = time.monotonic() + wait_seconds
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        handle.seek(0)
                        holder = handle.read().strip() or "unknown"
                        raise Locked(f"another ingest run is writing {self.root} ({holder}); try again later") from None
                    time.sleep(0.2)
            handle.seek(0)
            handle.truncate()
            handle.write(_holder())
            handle.flush()
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _sync_file_system(path: Path) -> None:
    """Flush everything written to the file system holding `path` to disk: syncfs(2) on Linux, sync(2)
    (every file system) elsewhere."""
    syncfs = getattr(_LIBC, "syncfs", None)
    if syncfs is None:
        os.sync()
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"syncfs: {os.strerror(error)}", str(path))
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ArrowStore:
    """An object store through pyarrow.fs (S3, GCS, ...); keys are object names under the URI's prefix."""

    # Its requests wait on the network. One at a time, a commit of 600 seeds to moto's S3 server made 305 PUTs
    # at ~19 ms and 289 HEADs at ~8 ms, 8.3 s of its 12.4 s (a local lake's: 0.2-0.45 s); 8 at once, with 20 ms
    # added to each request (a distant store), the run's two commit tasks took 5-8 s instead of 16-25 s.
    # pyarrow's file systems are safe to share between threads.
    concurrency = 8

    def __init__(self, uri: str) -> None:
        self.uri = uri.rstrip("/")
        try:
            self.fs, self.base = pafs.FileSystem.from_uri(self.uri)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise StoreError(f"cannot open {uri}: {exc}") from exc

    def _path(self, key: str) -> str:
        return f"{self.base}/{key}" if key else self.base

    def exists(self, key: str) -> bool:
        return self.fs.get_file_info(self._path(key)).type == pafs.FileType.File

    def size(self, key: str) -> int | None:
        info = self.fs.get_file_info(self._path(key))
        return int(info.size or 0) if info.type == pafs.FileType.File else None

    def read_bytes(self, key: str) -> bytes:
        with self.fs.open_input_stream(self._path(key)) as stream:
            return bytes(stream.read())

    def will_read(self, key: str, size: int) -> None:
        """Nothing: an object's bytes come by a request, which its reader overlaps on threads (`concurrency`)."""

    def write_atomic(self, key: str, data: bytes) -> None:
        # One PUT: the object appears (or is replaced) whole when the stream closes.
        with self.fs.open_output_stream(self._path(key)) as stream:
            stream.write(data)

    def open_input(self, key: str) -> pa.NativeFile:
        return self.fs.open_input_file(self._path(key))  # random access (ranged GETs): a footer, a row group

    @contextlib.contextmanager
    def writing_file(self, key: str) -> Iterator[Path]:
        """A local scratch path for the key's new content, sent as one PUT once the block ends normally (the
        finished, compressed file is read into memory for it: a stream left open by an error could complete a
        multipart upload of half a file)."""
        with tempfile.TemporaryDirectory(prefix="newslake-") as scratch:
            path = Path(scratch) / "new"
            yield path
            if path.exists():
                self.write_atomic(key, path.read_bytes())

    @contextlib.contextmanager
    def synced_together(self) -> Iterator[None]:
        """Nothing to gather: each object is put whole, and is durable, when its PUT returns."""
        yield

    def delete(self, key: str) -> None:
        if self.exists(key):
            self.fs.delete_file(self._path(key))

    def list_files(self, prefix: str = "") -> list[FileInfo]:
        selector = pafs.FileSelector(self._path(prefix), recursive=True, allow_not_found=True)
        out = []
        for info in self.fs.get_file_info(selector):
            if info.type == pafs.FileType.File:
                key = info.path[len(self.base) :].lstrip("/")
                out.append(FileInfo(key, int(info.size or 0), int(info.mtime_ns or 0)))
        return sorted(out, key=lambda f: f.key)

    def remove_empty_dirs(self, prefix: str) -> None:
        """Nothing to do: an object store's "directories" are key prefixes, gone with their last object."""

    def remove_temporaries(self, prefix: str) -> int:
        """Nothing to do: an object appears by one PUT of a finished file, so a killed write leaves none."""
        return 0

    def check_writable(self) -> None:
        key = f".write-probe-{uuid.uuid4().hex}"
        try:
            self.write_atomic(key, b"")
            self.delete(key)
        except OSError as exc:
            raise StoreError(f"cannot write to {self.uri}: {exc}") from exc

    @contextlib.contextmanager
    def lock(self, wait_seconds: float) -> Iterator[None]:
        """A lease object created with a conditional PUT (If-None-Match), so two runs cannot both create it.

        A run that dies leaves the object; it is taken over once its lease has expired.
        """
        client, bucket, key = self._s3_client(), *self._bucket_key(LOCK_NAME)
        token = uuid.uuid4().hex
        body = json.dumps({"holder": _holder(), "token": token, "expires": time.time() + LOCK_LEASE_SECONDS})
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                client.put_object(Bucket=bucket, Key=key, Body=body.encode(), IfNoneMatch="*")
                break
            except client.exceptions.ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in _LOCK_TAKEN:
                    raise StoreError(f"cannot take the lock {self.uri}/{LOCK_NAME}: {exc}") from exc
                current = json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read() or b"{}")
                if float(current.get("expires", 0)) < time.time():
                    client.delete_object(Bucket=bucket, Key=key)  # the lease of a dead run ran out
                    continue
                if time.monotonic() >= deadline:
                    holder = current.get("holder", "unknown")
                    raise Locked(f"another ingest run is writing {self.uri} ({holder}); try again later") from None
                time.sleep(0.5)
        try:
            yield
        finally:
            # Only our own lease is removed: if it ran out and another run took the lock, that lock stays.
            with contextlib.suppress(client.exceptions.ClientError):
                held = json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read() or b"{}")
                if held.get("token") == token:
                    client.delete_object(Bucket=bucket, Key=key)

    def _bucket_key(self, key: str) -> tuple[str, str]:
        bucket, _, prefix = self._path(key).partition("/")
        return bucket, prefix

    def _s3_client(self) -> Any:  # boto3 is untyped
        if not isinstance(self.fs, pafs.S3FileSystem):
            raise StoreError(f"locking is implemented for S3 only, not for {self.uri}")
        import boto3  # only object-store runs need it

        return boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)
