"""``carecloud export``: every item of a list operation into a JSON Lines or CSV file.

    export = ListExport("getCustomers", Path("customers.csv"), assignments=["email=jane@example.com"])
    async with CareCloud.from_env() as cc:
        summary = await export.run(cc)          # export.written grows page by page
        print(summary.written, summary.total_items)

The walk is ``CareCloud.paginate`` (``concurrency`` pages in flight); each page's items are written
and flushed as it arrives, so memory stays flat however long the list is, and a file cut short
(Ctrl-C, a lost connection) holds whole items only. ``resume=True`` counts the items already in the
file (dropping a torn last line left by a hard kill) and continues from that offset.

CSV: nested objects become dotted columns (``personal_information.first_name``), arrays and
free-form objects one JSON cell; the columns come from the item model the spec declares, so every
file of one list has the same header, and fields the spec does not declare go, as JSON, into a
last ``unknown_fields`` column.
"""

from __future__ import annotations

import builtins
import contextlib
import csv
import functools
import io
import json
import keyword
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

import attrs

from .._errors import RequestValidationError
from .._operations import check_interface
from .._pagination import MAX_CONCURRENCY, MAX_PAGE_SIZE, Paginator, item_type_of
from .._type_hints import type_hints
from ._call import to_plain
from ._operations import (
    _without_unset,
    find_operation,
    function_of,
    kind_of,
    parameters_of,
    parse_arguments,
    search_operations,
    with_path_arguments,
)

if TYPE_CHECKING:
    from carecloud_api._catalog import Operation

    from .. import CareCloud

Format = Literal["jsonl", "csv"]
FORMATS: tuple[Format, ...] = ("jsonl", "csv")
#: The CSV column holding, as JSON, the fields of an item the spec does not declare.
UNKNOWN_COLUMN = "unknown_fields"
#: Nested models deeper than this are written as one JSON cell (and recursive ones stop).
MAX_COLUMN_DEPTH = 4
ProgressCallback = Callable[[int, "int | None"], None]


#: File name endings and the format each one says (any case).
SUFFIXES: dict[str, Format] = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}


def format_for(path: Path, given: str | None = None) -> Format:
    """The format asked for, or the one the file name says (``.jsonl`` or ``.ndjson``: JSON Lines,
    ``.csv``: CSV). Another ending, or none, is refused unless the format is given: a file called
    ``c.xlsx`` or ``c.json`` holding JSON Lines is not what its name promises.

    >>> format_for(Path("out.csv")), format_for(Path("out.JSONL")), format_for(Path("x.txt"), "csv")
    ('csv', 'jsonl', 'csv')
    >>> format_for(Path("c.xlsx"))
    Traceback (most recent call last):
    ...
    carecloud_async._errors.RequestValidationError: c.xlsx: cannot tell the format from '.xlsx'; ...
    """
    if given is not None:
        if given not in FORMATS:
            raise RequestValidationError(f"format must be jsonl or csv, not {given!r}")
        return given
    found = SUFFIXES.get(path.suffix.lower())
    if found is None:
        ending = f"from {path.suffix!r}" if path.suffix else "without a file name ending"
        raise RequestValidationError(
            f"{path}: cannot tell the format {ending}; name the file .jsonl or .csv "
            "(.ndjson for JSON Lines too), or pass --format jsonl or --format csv"
        )
    return found


# --------------------------------------------------------------------------- CSV columns


def _json_key(attribute: str) -> str:
    # The generator appends "_" to names that are Python keywords or builtins (type_, from_,
    # credits_); the JSON key is the name without it.
    base = attribute[:-1]
    if attribute.endswith("_") and (keyword.iskeyword(base) or hasattr(builtins, base)):
        return base
    return attribute


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and attrs.has(annotation) and hasattr(annotation, "from_dict")


def _model_columns(model: type, prefix: str, depth: int, seen: tuple[type, ...]) -> Iterator[str]:
    hints = type_hints(model)
    nested = []
    for attribute in attrs.fields(model):
        if not attribute.init:  # unknown_fields: the catch-all, not a spec field
            continue
        name = prefix + _json_key(attribute.name)
        annotation = _without_unset(hints.get(attribute.name, Any))
        if _is_model(annotation) and depth < MAX_COLUMN_DEPTH and annotation not in seen:
            nested.append((name, annotation))
        else:
            yield name
    # Nested objects after the plain fields: customer_id before personal_information.*.
    for name, annotation in nested:
        yield from _model_columns(annotation, name + ".", depth + 1, (*seen, annotation))


@functools.cache
def csv_columns(operation: Operation) -> tuple[str, ...]:
    """The CSV header of a list operation's export: its item model's fields, nested models as
    dotted names, then ``unknown_fields``.

    >>> columns = csv_columns(find_operation("getCustomers"))
    >>> columns[:2], columns[-1]
    (('customer_id', 'doi_email'), 'unknown_fields')
    """
    item = item_type_of(operation)
    if not _is_model(item):
        return ("value", UNKNOWN_COLUMN)
    return (*_model_columns(item, "", 0, (item,)), UNKNOWN_COLUMN)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def flatten_row(data: Any, columns: Sequence[str]) -> list[str]:
    """One CSV row: ``data`` (an item's JSON) spread over ``columns``; what no column takes goes,
    as JSON with dotted keys, into ``unknown_fields``.

    >>> flatten_row({"a": {"b": 1, "z": True}, "c": [1, 2]}, ["a.b", "c", "unknown_fields"])
    ['1', '[1, 2]', '{"a.z": true}']
    """
    known = set(columns)
    cells: dict[str, str] = {}
    extra: dict[str, Any] = {}

    def walk(value: Any, prefix: str) -> None:
        if prefix in known:
            cells[prefix] = _cell(value)
        elif isinstance(value, dict) and value and any(c.startswith(prefix + ".") for c in columns):
            for key, item in value.items():
                walk(item, f"{prefix}.{key}")
        else:
            extra[prefix] = value

    if isinstance(data, dict):
        for key, value in data.items():
            walk(value, str(key))
    else:
        cells["value"] = _cell(data)
    if extra:
        cells[UNKNOWN_COLUMN] = json.dumps(extra, ensure_ascii=False)
    return [cells.get(column, "") for column in columns]


# --------------------------------------------------------------------------- files and resume


def _complete_lines_end(path: Path) -> tuple[int, int]:
    """(lines, byte offset after the last complete line) of a JSON Lines file."""
    lines = end = position = 0
    with path.open("rb") as fh:
        for chunk in iter(functools.partial(fh.read, 1 << 20), b""):
            newline = chunk.rfind(b"\n")
            lines += chunk.count(b"\n")
            if newline >= 0:
                end = position + newline + 1
            position += len(chunk)
    return lines, end


def _csv_records_end(path: Path, columns: Sequence[str]) -> tuple[int, int]:
    """(records after the header, byte offset after the last complete record) of a CSV file;
    raises if the header is not ``columns``. A record is complete when its line ending was
    written: a quoted cell may span lines, so records are read with the csv module."""
    with path.open("rb") as fh:
        position = 0

        def lines() -> Iterator[str]:
            nonlocal position
            for raw in fh:
                position += len(raw)
                yield raw.decode("utf-8")

        reader = csv.reader(lines())
        header = next(reader, None)
        if header != list(columns):
            raise RequestValidationError(
                f"{path} has other columns than this export (another list or another version): not resuming it"
            )
        records, ends = 0, [position]  # ends: where the last two records (or the header) end
        for _ in reader:
            records += 1
            ends = [ends[-1], position]
        fh.seek(-1, 2)
        if fh.read(1) != b"\n" and records:  # the last record was cut off mid-write
            return records - 1, ends[0]
        return records, ends[-1]


def existing_items(path: Path, fmt: Format, columns: Sequence[str] = ()) -> int:
    """How many whole items ``path`` holds, after cutting a torn last line off (a process killed
    mid-write). 0 for a missing or empty file.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.jsonl").write_text('{"a": 1}\\n{"a": 2}\\n{"a"')
    >>> existing_items(folder / "a.jsonl", "jsonl"), (folder / "a.jsonl").read_text()
    (2, '{"a": 1}\\n{"a": 2}\\n')
    """
    if not path.exists() or path.stat().st_size == 0:
        return 0
    if fmt == "jsonl":
        count, end = _complete_lines_end(path)
    else:
        count, end = _csv_records_end(path, columns)
    if end < path.stat().st_size:
        with path.open("r+b") as fh:
            fh.truncate(end)
    return count


class _Writer:
    """Writes items to an open text file, one page at a time, flushed after each page."""

    def __init__(self, fh: IO[str], fmt: Format, columns: Sequence[str], *, header: bool):
        self._fh = fh
        self._fmt = fmt
        self._columns = columns
        self._csv = csv.writer(fh, lineterminator="\n") if fmt == "csv" else None
        if self._csv is not None and header:
            self._csv.writerow(columns)
            fh.flush()

    def write_page(self, items: Iterable[Any]) -> int:
        count = 0
        for item in items:
            data = to_plain(item)
            if self._csv is not None:
                self._csv.writerow(flatten_row(data, self._columns))
            else:
                self._fh.write(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n")
            count += 1
        self._fh.flush()
        return count


# --------------------------------------------------------------------------- the export


@dataclass(frozen=True)
class ExportSummary:
    """What an export did: ``written`` items this run, from offset ``start``, into ``path``."""

    path: Path
    format: Format
    start: int
    written: int
    total_items: int | None

    @property
    def in_file(self) -> int:
        """Items the file holds now (those of earlier runs included)."""
        return self.start + self.written


def list_operation(name: str) -> Operation:
    """The list operation called ``name``; a clear error with list operations to try otherwise."""
    operation = find_operation(name)
    if kind_of(operation) == "list":
        return operation
    words = " ".join(operation.path.strip("/").split("/")[:1])
    lists = [f"{op.operation_id} ({op.method} {op.path})" for op in search_operations(words, kind="list")][:3]
    hint = f"; list operations: {', '.join(lists)}" if lists else "; `carecloud ops --kind list` lists them"
    raise RequestValidationError(
        f"{operation.operation_id} ({operation.method} {operation.path}) is not a list operation{hint}"
    )


class ListExport:
    """One export of a list operation into a file (checked at construction, before any client
    exists: nothing is sent and no file is touched until :meth:`run`).

    ``assignments`` are the list's filters as ``name=value`` texts; ``resume`` continues the file
    from the items it holds; without it an existing file is refused unless ``overwrite``. The
    format is ``fmt`` or the file name's ending (:func:`format_for`); the file's folder must
    exist. With ``interface``, a list the other API alone serves is refused first.
    """

    def __init__(
        self,
        operation: str,
        path: Path,
        *,
        assignments: Iterable[str] = (),
        fmt: str | None = None,
        page_size: int = 100,
        concurrency: int = 1,
        max_items: int | None = None,
        resume: bool = False,
        overwrite: bool = False,
        interface: str | None = None,
    ):
        self.operation = list_operation(operation)
        if interface is not None:  # the other API's list: refused before its filters are read
            check_interface(interface, self.operation)
        self.path = Path(path)
        self.format: Format = format_for(self.path, fmt)
        _, given = with_path_arguments(operation, assignments)
        arguments = parse_arguments(self.operation, given, reserved=("count", "offset"))
        positional = [p.name for p in parameters_of(self.operation) if p.positional]
        self._params = {**dict(zip(positional, arguments.args, strict=True)), **arguments.kwargs}
        self.columns = csv_columns(self.operation) if self.format == "csv" else ()
        if resume and overwrite:
            raise RequestValidationError("--resume and --overwrite exclude each other")
        if self.path.exists() and self.path.stat().st_size and not (resume or overwrite):
            raise RequestValidationError(
                f"{self.path} exists: pass --resume to continue it or --overwrite to replace it"
            )
        if self.path.is_dir():
            raise RequestValidationError(f"{self.path} is a directory")
        if not self.path.parent.is_dir():  # a mistyped folder would otherwise be created, silently
            raise RequestValidationError(f"{self.path}: the folder {self.path.parent} does not exist; create it first")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise RequestValidationError(f"the page size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}")
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            raise RequestValidationError(f"concurrency must be between 1 and {MAX_CONCURRENCY}, not {concurrency}")
        if max_items is not None and max_items < 0:
            raise RequestValidationError(f"max items must be 0 or more, not {max_items}")
        self.resume = resume
        self._page_size = page_size
        self._concurrency = concurrency
        self._max_items = max_items
        self.start = 0
        self.written = 0
        self.total_items: int | None = None

    async def run(self, cc: CareCloud, on_progress: ProgressCallback | None = None) -> ExportSummary:
        """Walk the list and write every item; ``on_progress(in_file, total_items)`` after each
        page. On cancellation (Ctrl-C) the file is closed holding whole items only. The file is
        opened when the first page has arrived: a refused request leaves no empty file behind."""
        cc.check_operation(self.operation)  # the other API's operation: refused before the file is read
        self.start = existing_items(self.path, self.format, self.columns) if self.resume else 0
        paginator = Paginator(
            cc,
            function_of(self.operation),
            page_size=self._page_size,
            concurrency=self._concurrency,
            max_items=self._max_items,
            start=self.start,
            **self._params,
        )
        if on_progress is not None:
            on_progress(self.start, None)
        with contextlib.ExitStack() as files:
            writer: _Writer | None = None
            async for page in paginator.pages():
                if writer is None:
                    writer = self._open(files)
                self.written += writer.write_page(page.items)
                if page.total_items is not None:
                    self.total_items = page.total_items
                if on_progress is not None:
                    on_progress(self.start + self.written, self.total_items)
        return self.summary()

    def _open(self, files: contextlib.ExitStack) -> _Writer:
        append = self.start > 0
        fh = files.enter_context(self.path.open("a" if append else "w", encoding="utf-8", newline=""))
        return _Writer(fh, self.format, self.columns, header=not append)

    def summary(self) -> ExportSummary:
        """Where the export stands (also after an interruption: ``written`` counts whole items
        in the file)."""
        return ExportSummary(
            path=self.path,
            format=self.format,
            start=self.start,
            written=self.written,
            total_items=self.total_items,
        )


def read_back(text: str, fmt: Format) -> list[Any]:
    """The items of an export's content (JSON Lines: parsed objects; CSV: dicts by column).

    >>> read_back('{"a":1}\\n', "jsonl"), read_back("a,b\\n1,x\\n", "csv")
    ([{'a': 1}], [{'a': '1', 'b': 'x'}])
    """
    if fmt == "jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return list(csv.DictReader(io.StringIO(text, newline="")))
