"""UI-free data loading for LiST Studio.

Everything a user can get wrong about an input file (missing, empty, wrong format, odd encoding, ragged CSV rows,
unknown labels, ...) is reported either as a `DataError` with one actionable sentence or, when the file is still
usable, as counts and warnings in a `LoadReport`. No Streamlit import here: the CLI and the UI share this module.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import os
import re
import tempfile
from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator, Sequence, Union

import numpy as np
import pandas as pd

__all__ = [
    "DataError",
    "SUPPORTED_FORMATS",
    "MAX_ROWS_DEFAULT",
    "MAX_TEXT_CHARS",
    "LoadReport",
    "read_table",
    "load_examples",
    "dataset_to_frame",
    "few_shot_split",
    "write_table",
]


class DataError(ValueError):
    """Bad input the user can fix; the message is one clear, actionable sentence (what, where, what to do)."""


SUPPORTED_FORMATS = ("csv", "tsv", "jsonl", "json", "parquet", "txt")
MAX_ROWS_DEFAULT = 2_000_000
MAX_TEXT_CHARS = 20_000
TEST_SPLIT_SEED = 12345  # fixed so the test split is the same for every labeled-set seed

Source = Union[str, os.PathLike, IO[bytes]]

# Extension / --format aliases -> canonical format name.
_FORMAT_ALIASES = {
    "csv": "csv",
    "tsv": "tsv",
    "tab": "tsv",
    "jsonl": "jsonl",
    "ndjson": "jsonl",
    "json": "json",
    "parquet": "parquet",
    "pq": "parquet",
    "txt": "txt",
    "text": "txt",
}


@dataclass
class LoadReport:
    """What happened while reading/cleaning one file; shown to the user and saved with runs."""

    source: str
    format: str
    encoding: str
    rows_read: int = 0
    rows_kept: int = 0
    empty: int = 0
    duplicates: int = 0
    unknown_label: int = 0
    bad_rows: int = 0
    truncated: int = 0
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for logs and the UI, e.g. 'uci.csv: 3000 rows read, 2990 kept (5 empty, 5 duplicate)'."""
        parts = [
            f"{n} {what}"
            for n, what in (
                (self.empty, "empty"),
                (self.duplicates, "duplicate"),
                (self.unknown_label, "unknown label"),
                (self.bad_rows, "bad"),
            )
            if n
        ]
        line = f"{self.source}: {self.rows_read} rows read, {self.rows_kept} kept"
        if parts:
            line += " (" + ", ".join(parts) + ")"
        if self.truncated:
            line += f", {self.truncated} truncated to {MAX_TEXT_CHARS} characters"
        if self.warnings:
            line += "; " + "; ".join(self.warnings)
        return line

    def to_dict(self) -> dict:
        return asdict(self)


def is_missing(value: Any) -> bool:
    """None, NaN, NaT or pandas' NA: a cell without a value (the API's rows, the Label table's edits)."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except (TypeError, ValueError):  # pd.NA refuses bool()
        return True


# --------------------------------------------------------------------------------------------------------------
# Reading raw bytes and decoding
# --------------------------------------------------------------------------------------------------------------


def _source_name(source: Source, name: str | None) -> str:
    if name:
        return Path(str(name)).name
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    return Path(str(getattr(source, "name", "") or "upload")).name


def _resolve_format(fmt: str | None, name: str) -> str:
    if fmt:
        key = fmt.lower().lstrip(".")
        if key not in _FORMAT_ALIASES:
            raise DataError(
                f"unknown format '{fmt}' for {name}; use one of: {', '.join(SUPPORTED_FORMATS)}."
            )
        return _FORMAT_ALIASES[key]
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix not in _FORMAT_ALIASES:
        shown = f"'.{suffix}'" if suffix else "no extension"
        raise DataError(
            f"{name} has {shown}, which is not a supported format; "
            f"use one of: {', '.join(SUPPORTED_FORMATS)} (or pass the format explicitly)."
        )
    return _FORMAT_ALIASES[suffix]


def _read_bytes(source: Source, name: str) -> bytes:
    """Get the whole file as bytes from a path or a binary file-like (e.g. Streamlit UploadedFile)."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise DataError(f"file not found: {path}; check the path and try again.")
        if path.is_dir():
            raise DataError(f"{path} is a folder, not a file; pass the path of a data file inside it.")
        return path.read_bytes()
    if hasattr(source, "getvalue"):
        data = source.getvalue()
    elif hasattr(source, "read"):
        if hasattr(source, "seek"):
            try:
                source.seek(0)
            except (OSError, ValueError):
                pass
        data = source.read()
    else:
        raise DataError(f"cannot read {name}: expected a file path or an open binary file, got {type(source).__name__}.")
    if isinstance(data, str):
        data = data.encode("utf-8")
    return bytes(data)


_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def _guess_bomless_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM shows up as NUL bytes in every other position (for mostly-ASCII text)."""
    sample = data[:4000]
    if len(sample) < 4 or b"\x00" not in sample:
        return None
    even, odd = sample[0::2], sample[1::2]
    even_zero = even.count(0) / len(even)
    odd_zero = odd.count(0) / len(odd)
    if odd_zero > 0.4 and even_zero < 0.05:
        return "utf-16-le"
    if even_zero > 0.4 and odd_zero < 0.05:
        return "utf-16-be"
    return None


def _decode(data: bytes, name: str) -> tuple[str, str, list[str]]:
    """Decode bytes to text; returns (text, encoding used, warnings). Never fails: latin-1 is the last resort."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(enc), enc, []
            except UnicodeDecodeError:
                break  # a BOM followed by garbage: fall through to the usual chain
    # Checked before UTF-8: ASCII in UTF-16 is also "valid" UTF-8, full of NUL characters.
    guess = _guess_bomless_utf16(data)
    if guess:
        try:
            return data.decode(guess), guess, [f"decoded as {guess} (UTF-16 without a byte-order mark)"]
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError as exc:
        utf8_error = exc
    where = f"byte {utf8_error.start}"
    mixed = _decode_mixed(data)
    if mixed is not None:
        return mixed
    for enc in ("cp1252", "latin-1"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        return text, enc, [f"decoded as {enc} (not valid UTF-8 at {where}); save the file as UTF-8 if characters look wrong"]
    raise AssertionError("latin-1 decoding cannot fail")  # pragma: no cover


def _decode_mixed(data: bytes) -> tuple[str, str, list[str]] | None:
    """A file whose lines are partly UTF-8 and partly cp1252/latin-1 (e.g. two exports pasted together): decode
    line by line so the UTF-8 lines do not turn into mojibake. None when no non-ASCII line is valid UTF-8."""
    lines = data.splitlines(keepends=True)
    out, fallback, utf8_non_ascii = [], 0, 0
    for line in lines:
        try:
            text = line.decode("utf-8")
            utf8_non_ascii += not line.isascii()
        except UnicodeDecodeError:
            try:
                text = line.decode("cp1252")
            except UnicodeDecodeError:
                text = line.decode("latin-1")
            fallback += 1
        out.append(text)
    if not utf8_non_ascii:
        return None
    return "".join(out), "utf-8+cp1252", [f"mixed encodings: {fallback} line{'s' if fallback != 1 else ''} not valid "
                                          "UTF-8 decoded as cp1252/latin-1; save the file as UTF-8 if characters "
                                          "look wrong"]


_MAGIC = ((b"PK\x03\x04", "a ZIP archive (an Excel .xlsx, .docx or .zip file?)"), (b"\x1f\x8b", "a gzip archive"),
          (b"%PDF", "a PDF document"), (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
          (b"\xd0\xcf\x11\xe0", "an old Office document (.xls/.doc)"), (b"SQLite format", "an SQLite database"))


def _sniff_binary(data: bytes, text: str | None, name: str, fmt: str) -> None:
    """Refuse a binary file with a text extension (e.g. report.xlsx renamed to .csv) instead of parsing garbage."""
    hint = f"export or save it as {fmt.upper()} (UTF-8), or give it its real extension."
    for magic, what in _MAGIC:
        if data[: len(magic)] == magic:
            raise DataError(f"{name} is {what}, not a {fmt.upper()} text file; {hint}")
    if text is not None:
        sample = text[:65536]
        controls = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\t\n\r\f\v") or ch == "\x7f")
        # NUL never occurs in a text file we can decode (UTF-16/32 are decoded by then); other control characters
        # may (user text): only a high share of them means binary.
        if "\x00" in sample or (len(sample) >= 256 and controls > len(sample) // 10):
            raise DataError(f"{name} looks like a binary file, not a {fmt.upper()} text file; {hint}")


# --------------------------------------------------------------------------------------------------------------
# Per-format parsers. Each yields records and counts bad ones; they stop early once max_rows is exceeded.
# --------------------------------------------------------------------------------------------------------------


class _TooManyRows(Exception):
    pass


class _RowCounter:
    """Counts records while parsing so a file over the limit fails early instead of filling memory."""

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows
        self.seen = 0

    def tick(self) -> None:
        self.seen += 1
        if self.seen > self.max_rows:
            raise _TooManyRows


def _unique_headers(raw: Sequence[str]) -> list[str]:
    """Strip header names, name blank ones, and make duplicates unique the way pandas does (a, a.1, a.2)."""
    out: list[str] = []
    seen: Counter[str] = Counter()
    for i, col in enumerate(raw):
        col = col.strip().lstrip("\ufeff").strip() or f"column_{i + 1}"
        base = col
        while col in seen:
            col = f"{base}.{seen[base]}"
            seen[base] += 1
        seen[col] += 1
        out.append(col)
    return out


_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def _iter_lines(text: str) -> Iterator[str]:
    """Physical lines with their endings, split like open(newline="") does, without copying the whole text."""
    for match in _LINE_RE.finditer(text):
        yield match.group()


def _split_literal_quotes(line: str, delimiter: str) -> list[str]:
    """Split one line as RFC 4180 does, except that a field whose quotes do not enclose it is kept as written.

    The csv module reads `"Inception" is a masterpiece,pos` as `Inception is a masterpiece`: it drops the quotes
    of a quoted part followed by more text. Such a field is malformed by RFC 4180, but a hand-written CSV means
    the quotes as text. A field is quoted here only when it starts with a quote and its closing quote ends it;
    on any line that RFC 4180 allows, the result is the csv module's.
    """
    fields: list[str] = []
    i, n = 0, len(line)
    while True:
        if line.startswith('"', i):
            j, buf = i + 1, []
            while j < n:
                if line[j] == '"':
                    if line.startswith('"', j + 1):
                        buf.append('"')
                        j += 2
                        continue
                    break
                buf.append(line[j])
                j += 1
            if j < n and (j + 1 == n or line[j + 1] == delimiter):  # a quoted field, closed where it ends
                fields.append("".join(buf))
                if j + 1 == n:
                    return fields
                i = j + 2
                continue
        k = line.find(delimiter, i)
        if k < 0:
            fields.append(line[i:])
            return fields
        fields.append(line[i:k])
        i = k + 1


def _pick_delimiter(text: str, delimiter: str, first_line: str) -> str:
    """The separator that splits the first lines into as many fields as the header, `delimiter` on a tie.

    A header can hold another file's separator as text ('Kommentar, frei;Bewertung'): splitting on the first one
    seen made every row of a semicolon file malformed.
    """
    candidates = [delimiter] + [d for d in (";", "\t", ",", "|") if d != delimiter and d in first_line]
    if len(candidates) == 1:
        return delimiter
    sample = "".join(itertools.islice(_iter_lines(text), 51))
    best, best_score = delimiter, -1
    for cand in candidates:
        records = [r for r in csv.reader(io.StringIO(sample), delimiter=cand) if r]
        width = len(records[0]) if records else 0
        score = sum(len(r) == width for r in records[1:]) if width > 1 else 0
        if score > best_score:
            best, best_score = cand, score
    return best


def _parse_delimited(text: str, delimiter: str, counter: _RowCounter) -> tuple[list[str], list[list[str]], int]:
    """Parse CSV/TSV with the csv module, skipping ragged records.

    A stray quote makes the csv module swallow following lines into one field. When a ragged record with too few
    fields spans several physical lines, only its first line is counted as bad and parsing resumes on the next
    line, so one bad quote costs one row instead of the rest of the file.
    """
    # The csv module refuses a field over csv.field_size_limit() (131,072 characters by default) with csv.Error:
    # a long document, or the rest of a big file swallowed by a stray quote, crashed the read. No field can be
    # longer than the text (long texts are cut to MAX_TEXT_CHARS later, a stray quote costs one row below).
    if csv.field_size_limit() <= len(text):
        csv.field_size_limit(min(len(text) + 1, 2**31 - 1))
    source = _iter_lines(text)
    pending: deque[str] = deque()  # lines to parse again after a restart
    record_lines: list[str] = []  # physical lines of the record being parsed (csv reads no further ahead)

    def feed() -> Iterator[str]:
        while True:
            if pending:
                line = pending.popleft()
            else:
                line = next(source, None)
                if line is None:
                    return
            record_lines.append(line)
            yield line

    header: list[str] | None = None
    rows: list[list[str]] = []
    bad = 0
    restart = True
    while restart:
        restart = False
        for record in csv.reader(feed(), delimiter=delimiter):
            line = record_lines[0].rstrip("\r\n") if record_lines else ""
            spanned = record_lines[1:]
            record_lines.clear()
            if not record or (len(record) == 1 and not record[0].strip() and (header is None or len(header) > 1)):
                continue  # blank line
            if header is None:
                header = _unique_headers(record)
                continue
            counter.tick()
            if len(record) > len(header) and not any(f.strip() for f in record[len(header):]):
                record = record[:len(header)]  # trailing empty fields ('foo bar,pos,'): stray separators
            if len(header) == 1 and len(record) > 1 and not spanned:
                record = [line]  # a one-column file: the separators of an unquoted text are part of the text
            if len(record) == len(header):
                if '"' in line and not spanned:
                    literal = _split_literal_quotes(line, delimiter)
                    if len(literal) == len(header):
                        record = literal
                rows.append(record)
                continue
            bad += 1
            if len(record) < len(header) and spanned:
                pending.extendleft(reversed(spanned))
                restart = True
                break
    if header is None:
        return [], [], 0
    return header, rows, bad


def _json_scalar(value: Any) -> str:
    """Turn a JSON/Parquet value into the string a user would expect to see (1 -> "1", None -> "")."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _json_native(value: Any) -> Any:
    """A JSON/Parquet value as it was (1 stays 1, true stays True), for writing back to JSON; None for no value."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def _flatten(record: dict, prefix: str = "") -> dict:
    """Nested objects as dotted columns, as pandas.json_normalize names them: {"review": {"body": "great"}} ->
    {"review.body": "great"}. A nested object was one column of JSON text ('{"body": "great"}'), no text to
    classify; lists and empty objects stay one value."""
    out: dict = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(_flatten(value, name + "."))
        else:
            out.setdefault(name, value)
    return out


def _records_to_columns(records: Iterable[dict], scalar: Callable[[Any], Any] = _json_scalar
                        ) -> tuple[list[str], list[list[Any]]]:
    """Union of keys in first-seen order; missing keys become "" (None with `_json_native`). As strings, nested
    objects are flattened to dotted columns; kept typed (a file written back as JSON), they stay as they were."""
    if scalar is _json_scalar:
        records = [_flatten(r) if any(isinstance(v, dict) for v in r.values()) else r for r in records]
    columns: dict[str, None] = {}
    for rec in records:
        for key in rec:
            columns.setdefault(str(key), None)
    cols = list(columns)
    rows = [[scalar(rec[c]) if c in rec else scalar(None) for c in cols] for rec in records]
    return cols, rows


def _parse_jsonl(text: str, counter: _RowCounter, scalar: Callable[[Any], Any] = _json_scalar
                 ) -> tuple[list[str], list[list[Any]], int]:
    records: list[dict] = []
    bad = 0
    for line in text.split("\n"):  # not splitlines(): U+2028, \x85 etc. may appear inside JSON strings
        if not line.strip():
            continue
        counter.tick()
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            bad += 1
            continue
        if isinstance(obj, dict):
            records.append(obj)
        elif isinstance(obj, str):
            records.append({"text": obj})
        else:
            bad += 1
    cols, rows = _records_to_columns(records, scalar)
    return cols, rows, bad


def _int_like(keys: Iterable[Any]) -> bool:
    return all(re.fullmatch(r"-?\d+", str(k)) for k in keys)


def _unwrap_json_table(obj: dict) -> Any:
    """The records of the JSON shapes pandas' DataFrame.to_json writes besides 'records' (and of a records list
    beside metadata); `obj` itself when it is none of them. Each used to be read as ONE row of JSON text.

    - orient='columns' (to_json's default): {column: {row: value}}; orient='index': {row: {column: value}}
    - orient='split': {"columns": [...], "index": [...], "data": [[...], ...]}
    - orient='table' and other envelopes: {"schema": {...}, "data": [{...}, ...]} (one list of records, the other
      values no lists)
    """
    if not obj:
        return obj
    keys, values = list(obj), list(obj.values())
    if (set(keys) in ({"columns", "data"}, {"columns", "index", "data"}) and isinstance(obj["columns"], list)
            and isinstance(obj["data"], list)
            and all(isinstance(r, list) and len(r) == len(obj["columns"]) for r in obj["data"])):
        cols = [str(c) for c in obj["columns"]]
        if len(set(cols)) == len(cols):
            return [dict(zip(cols, r)) for r in obj["data"]]
    if all(isinstance(v, dict) for v in values):
        inner = list(values[0])
        if inner and all(list(v) == inner for v in values):  # pandas writes every row of every column, in order
            if _int_like(keys) and not _int_like(inner):
                by_rows = True
            elif _int_like(inner) and not _int_like(keys):
                by_rows = False
            else:  # a dataset has more rows than columns
                by_rows = len(keys) > len(inner)
            if by_rows:
                return values
            return [{str(k): obj[k][row] for k in keys} for row in inner]
    lists = [v for v in values if isinstance(v, list)]
    if len(obj) > 1 and len(lists) == 1 and lists[0] and all(isinstance(r, dict) for r in lists[0]):
        return lists[0]
    return obj


def _parse_json(text: str, counter: _RowCounter, name: str, scalar: Callable[[Any], Any] = _json_scalar
                ) -> tuple[list[str], list[list[Any]], int]:
    """A records list, a {column: [values]} object, {"data": [records]}, a list of strings, or JSON lines."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        # Many ".json" exports are really JSON lines; accept them if at least one line parses.
        cols, rows, bad = _parse_jsonl(text, counter, scalar)
        if rows:
            return cols, rows, bad
        raise DataError(
            f"{name} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}; expected a list of "
            "records or JSON lines); fix the file there or check its extension."
        ) from None
    if isinstance(obj, dict):
        obj = _unwrap_json_table(obj)
    if isinstance(obj, dict):
        values = list(obj.values())
        if len(obj) == 1 and isinstance(values[0], list):
            obj = values[0]
        elif values and all(isinstance(v, list) for v in values) and len({len(v) for v in values}) == 1:
            cols = [str(k) for k in obj]
            n = len(values[0])
            for _ in range(n):
                counter.tick()
            rows = [[scalar(v[i]) for v in values] for i in range(n)]
            return cols, rows, 0
        else:
            obj = [obj]
    if not isinstance(obj, list):
        raise DataError(f"{name} holds a single JSON value, not a list of records; expected JSON like [{{\"text\": ..., \"label\": ...}}].")
    if len(obj) > 1 and all(isinstance(item, list) for item in obj) and obj[0] and all(
            isinstance(c, str) for c in obj[0]):  # rows as arrays under a header array (a spreadsheet's export)
        cols = _unique_headers(obj[0])
        rows, bad = [], 0
        for item in obj[1:]:
            counter.tick()
            if len(item) == len(cols):
                rows.append([scalar(v) for v in item])
            else:
                bad += 1
        return cols, rows, bad
    records: list[dict] = []
    bad = 0
    for item in obj:
        counter.tick()
        if isinstance(item, dict):
            records.append(item)
        elif isinstance(item, str):
            records.append({"text": item})
        else:
            bad += 1
    cols, rows = _records_to_columns(records, scalar)
    return cols, rows, bad


def _parse_txt(text: str, counter: _RowCounter) -> tuple[list[str], list[list[str]], int]:
    """One example per line; interior blank lines are kept (load_examples counts them as empty)."""
    lines = [line.rstrip("\r\n") for line in _iter_lines(text)]
    while lines and not lines[-1].strip():
        lines.pop()
    for _ in lines:
        counter.tick()
    return ["text"], [[line] for line in lines], 0


def _read_parquet(data: bytes, name: str, max_rows: int, scalar: Callable[[Any], Any] = _json_scalar
                  ) -> tuple[list[str], list[list[Any]]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(io.BytesIO(data))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(
            f"{name} is not a valid Parquet file ({exc.__class__.__name__}); check the file or rename it to its real format."
        ) from None
    n = pf.metadata.num_rows
    if n > max_rows:
        raise _TooManyRows
    table = pf.read()
    cols = _unique_headers([str(c) for c in table.column_names])
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    rows = [[scalar(col[r]) for col in columns] for r in range(table.num_rows)]
    return cols, rows


def read_table(
    source: Source,
    *,
    fmt: str | None = None,
    name: str | None = None,
    max_rows: int = MAX_ROWS_DEFAULT,
    keep_types: bool = False,
) -> tuple[pd.DataFrame, LoadReport]:
    """Read a file into a DataFrame of strings (missing values -> ""), skipping unparseable rows.

    `keep_types`: JSON, JSON Lines and Parquet cells keep their own values (numbers, booleans, nested objects; None
    where there is none), so a file written back as JSON says what the input said. CSV, TSV and text stay strings.
    Without it, a JSON file's nested objects are flattened to dotted columns ('review.body'), as the text to read.

    `source` is a path or a binary file-like (with `name` giving the file name, e.g. for uploads). The format comes
    from `fmt` or the extension. Returned frame has a 0-based RangeIndex over the rows that parsed; rows_kept is
    its length and bad_rows counts the skipped ones.
    """
    name = _source_name(source, name)
    fmt_ = _resolve_format(fmt, name)
    data = _read_bytes(source, name)
    if not data.strip():
        raise DataError(f"{name} is empty; choose a file that contains data.")

    counter = _RowCounter(max_rows)
    scalar = _json_native if keep_types else _json_scalar
    warnings: list[str] = []
    too_many = DataError(
        f"{name} has more than {max_rows:,} rows, the limit; split the file or sample it down before loading."
    )
    if fmt_ == "parquet":
        encoding = "binary"
        try:
            cols, rows = _read_parquet(data, name, max_rows, scalar)
        except _TooManyRows:
            raise too_many from None
        bad = 0
    else:
        if data[:4] == b"PAR1":
            raise DataError(f"{name} looks like a Parquet file, not {fmt_.upper()}; rename it to .parquet.")
        _sniff_binary(data, None, name, fmt_)
        text, encoding, warnings = _decode(data, name)
        _sniff_binary(b"", text, name, fmt_)
        del data  # keep one copy of a large file in memory, not two
        text = text.lstrip("\ufeff")
        if not text.strip():
            raise DataError(f"{name} is empty; choose a file that contains data.")
        try:
            if fmt_ in ("csv", "tsv"):
                if text.lstrip()[:1] in ("{", "["):
                    raise DataError(f"{name} looks like JSON, not {fmt_.upper()}; rename it to .jsonl (one object "
                                    "per line) or .json.")
                delimiter = "," if fmt_ == "csv" else "\t"
                first_line = text.split("\n", 1)[0]
                excel_sep = re.fullmatch(r"sep=([^\r\n])[ \r]*", first_line)
                if excel_sep:  # Excel's separator line ('sep=;' above the header): the file says its separator
                    delimiter = excel_sep.group(1)
                    text = text.split("\n", 1)[1] if "\n" in text else ""
                elif delimiter not in first_line:
                    alt = next((d for d in (";", "\t", ",", "|") if d != delimiter and d in first_line), None)
                    if alt:
                        warnings.append(f"header has no {'comma' if delimiter == ',' else 'tab'}; using {alt!r} as the separator")
                        delimiter = alt
                else:
                    picked = _pick_delimiter(text, delimiter, first_line)
                    if picked != delimiter:
                        warnings.append(f"using {picked!r} as the separator: it splits the rows into as many fields "
                                        f"as the header (the header's {delimiter!r} is part of a column name)")
                        delimiter = picked
                cols, rows, bad = _parse_delimited(text, delimiter, counter)
            elif fmt_ == "jsonl":
                cols, rows, bad = _parse_jsonl(text, counter, scalar)
                if not rows and bad:
                    raise DataError(
                        f"{name} is not valid JSON Lines (no line parsed as a JSON object); check the file or its extension."
                    )
            elif fmt_ == "json":
                cols, rows, bad = _parse_json(text, counter, name, scalar)
            else:
                cols, rows, bad = _parse_txt(text, counter)
        except _TooManyRows:
            raise too_many from None

    if not rows:
        if bad:
            what = ("check the separator, quoting or file format" if fmt_ in ("csv", "tsv") else
                    "each row must be a JSON object such as {\"text\": ..., \"label\": ...}")
            raise DataError(f"{name}: none of its {bad} data rows could be parsed as {fmt_.upper()}; {what}.")
        if cols:
            raise DataError(f"{name} has a header ({', '.join(cols)}) but no data rows; add rows below the header.")
        raise DataError(f"{name} is empty; choose a file that contains data.")

    df = pd.DataFrame(rows, columns=cols, dtype=object if keep_types and fmt_ in ("json", "jsonl", "parquet") else str)
    report = LoadReport(
        source=name,
        format=fmt_,
        encoding=encoding,
        rows_read=len(rows) + bad,
        rows_kept=len(rows),
        bad_rows=bad,
        warnings=warnings,
    )
    if bad:
        why = {"jsonl": "not valid JSON or not an object", "json": "not an object, or a row of the wrong length"
               }.get(fmt_, "wrong number of fields or bad quoting")
        report.warnings.append(f"{bad} malformed row{'s' if bad != 1 else ''} skipped ({why})")
    return df, report


# --------------------------------------------------------------------------------------------------------------
# Cleaning into a datasets.Dataset
# --------------------------------------------------------------------------------------------------------------


def _looks_numeric(values: pd.Series) -> bool:
    nonblank = values[values.str.strip() != ""]
    if nonblank.empty:
        return True  # an all-blank column cannot be the text column
    return bool(pd.to_numeric(nonblank.str.strip(), errors="coerce").notna().all())


def _missing_column(kind: str, col: str, columns: Sequence[str], name: str) -> DataError:
    msg = f"{name}: {kind} column '{col}' not found; columns are: {', '.join(columns)}"
    close = [c for c in columns if c.strip().casefold() == col.strip().casefold()]
    if close:
        msg += f" (did you mean '{close[0]}'?)"
    return DataError(msg + ".")


def _pick_text_columns(df: pd.DataFrame, label_column: str | None, name: str) -> list[str]:
    cols = list(df.columns)
    if "text" in cols:
        return ["text"]
    ci = [c for c in cols if c.strip().casefold() == "text"]
    if len(ci) == 1:
        return ci
    # A column literally called "label" is never the text, even when no label column was named (unlabeled use).
    not_text = {label_column} if label_column is not None else {c for c in cols if c.strip().casefold() == "label"}
    candidates = [c for c in cols if c not in not_text and not _looks_numeric(df[c])]
    if len(candidates) == 1:
        return candidates
    raise DataError(
        f"{name}: cannot tell which column holds the text; columns are: {', '.join(cols)}; name it (--text-column "
        "on the command line)."
    )


def _label_warnings(labels: Sequence[str], allowed: Sequence[str] | None) -> list[str]:
    out: list[str] = []
    groups: dict[str, list[str]] = {}
    for lab in sorted(set(labels)):
        groups.setdefault("".join(lab.split()).casefold(), []).append(lab)
    for same in groups.values():
        if len(same) > 1:
            shown = " and ".join(f"'{s}'" for s in same)
            out.append(f"labels {shown} differ only in case or spaces; they are treated as different classes")
    present = set(labels)
    if len(present) == 1:
        out.append(f"only one class ('{next(iter(present))}') is present; a classifier needs at least two")
    if allowed:
        missing = [a for a in allowed if a not in present]
        if missing:
            out.append(f"no examples for label{'s' if len(missing) > 1 else ''} {', '.join(repr(m) for m in missing)}")
    return out


def load_examples(
    source: Source,
    *,
    text_columns: Sequence[str] | None = None,
    label_column: str | None = None,
    labels: Sequence[str] | None = None,
    dedupe: bool = True,
    fmt: str | None = None,
    name: str | None = None,
    max_rows: int = MAX_ROWS_DEFAULT,
    table: tuple[pd.DataFrame, LoadReport] | None = None,
):
    """Read + clean a file into a `datasets.Dataset` with columns id, the text column(s) and optionally label.

    Each read row is counted exactly once: rows_read == rows_kept + empty + unknown_label + duplicates + bad_rows.
    The checks run in that order (a blank row with an unknown label counts as empty). "id" is the row's 0-based
    position in the frame read_table returns, so results can be joined back to the file. A caller that needs that
    frame too passes read_table's result as `table` (source is then not read), so a large file is read once; the
    frame is not changed, and the returned report is a copy.
    """
    import copy

    import datasets  # heavy import, only needed here

    if table is not None:
        df, report = table[0], copy.deepcopy(table[1])
    else:
        df, report = read_table(source, fmt=fmt, name=name, max_rows=max_rows)
    name = report.source
    cols = list(df.columns)

    if isinstance(text_columns, str):
        text_columns = [text_columns]
    if label_column is not None and label_column not in cols:
        raise _missing_column("label", label_column, cols, name)
    if text_columns:
        text_columns = list(dict.fromkeys(text_columns))
        for col in text_columns:
            if col not in cols:
                raise _missing_column("text", col, cols, name)
    else:
        text_columns = _pick_text_columns(df, label_column, name)
    if label_column is not None and label_column in text_columns:
        raise DataError(f"{name}: column '{label_column}' cannot be both a text column and the label column; pick different columns.")

    allowed: list[str] | None = None
    if labels is not None:
        allowed = list(dict.fromkeys(str(x).strip() for x in labels))
        if not allowed:
            raise DataError("the list of allowed labels is empty; pass at least two labels or none to accept all.")

    texts = df[text_columns].apply(lambda s: s.str.strip())
    keep = np.ones(len(df), dtype=bool)

    empty_mask = np.array((texts == "").all(axis=1), dtype=bool)
    report.empty = int(empty_mask.sum())
    keep &= ~empty_mask

    label_values: pd.Series | None = None
    if label_column is not None:
        label_values = df[label_column].str.strip()
        unknown = np.array(label_values == "", dtype=bool)
        if allowed is not None:
            unknown |= ~np.array(label_values.isin(allowed), dtype=bool)
        unknown &= keep
        report.unknown_label = int(unknown.sum())
        if allowed is not None and unknown.any():
            folded = {"".join(a.split()).casefold(): a for a in allowed}
            near = {v: folded[f] for v in set(label_values[unknown]) if (f := "".join(v.split()).casefold()) in folded}
            for found, want in sorted(near.items()):
                report.warnings.append(f"label '{found}' was skipped as unknown but differs from '{want}' only in case or spaces")
        if keep.any() and not (keep & ~unknown).any():
            found = [v for v in dict.fromkeys(label_values[unknown]) if v][:5]
            if allowed is not None:
                # There is no --labels: the expected labels are the LABEL names of --verbalizer LABEL=word,...
                decimals = [f for f in found if re.fullmatch(r"-?\d+\.0+", f) and f.split(".")[0] in allowed]
                raise DataError(
                    f"{name}: no row has one of the expected labels ({', '.join(allowed)}) in column '{label_column}'; "
                    f"found e.g. {', '.join(repr(f) for f in found) or 'only blanks'}"
                    + (f" (whole numbers written as decimals: {decimals[0]!r} is not {decimals[0].split('.')[0]!r})"
                       if decimals else "")
                    + "; name the classes in --verbalizer as the label column writes them, or fix the label column."
                )
            raise DataError(f"{name}: label column '{label_column}' is blank in every row; pick the column that holds the labels.")
        keep &= ~unknown

    if dedupe:
        # Only rows still in play can be duplicates of each other.
        dup = np.zeros(len(df), dtype=bool)
        kept_idx = np.flatnonzero(keep)
        if len(kept_idx):
            dup[kept_idx] = np.array(texts.iloc[kept_idx].duplicated(keep="first"), dtype=bool)
        report.duplicates = int(dup.sum())
        if label_values is not None and report.duplicates:
            sub = pd.concat([texts.iloc[kept_idx], label_values.iloc[kept_idx].rename("__label__")], axis=1)
            conflicts = int((sub.groupby(text_columns, sort=False)["__label__"].nunique() > 1).sum())
            if conflicts:
                report.warnings.append(
                    f"{conflicts} duplicated text{'s' if conflicts != 1 else ''} had different labels; the first label was kept"
                )
        keep &= ~dup

    # After the duplicate check, which compares whole texts: two long texts that differ only past the limit are
    # two rows, not a duplicate.
    truncated_mask = np.zeros(len(df), dtype=bool)
    for col in text_columns:
        too_long = np.array(texts[col].str.len() > MAX_TEXT_CHARS, dtype=bool)
        if too_long.any():
            texts.loc[too_long, col] = texts.loc[too_long, col].str.slice(0, MAX_TEXT_CHARS)
            truncated_mask |= too_long

    report.rows_kept = int(keep.sum())
    report.truncated = int((truncated_mask & keep).sum())
    if report.rows_kept == 0:
        raise DataError(
            f"{name}: no usable rows remain ({report.rows_read} read: {report.empty} empty, "
            f"{report.duplicates} duplicate, {report.unknown_label} unknown label, {report.bad_rows} malformed); "
            "check the text and label columns."
        )

    idx = np.flatnonzero(keep)
    out: dict[str, list] = {"id": [int(i) for i in idx]}
    features = {"id": datasets.Value("int64")}
    for col in text_columns:
        out[col] = texts[col].to_numpy()[idx].tolist()
        features[col] = datasets.Value("string")
    if label_values is not None:
        out["label"] = label_values.to_numpy()[idx].tolist()
        features["label"] = datasets.Value("string")
        report.warnings.extend(_label_warnings(out["label"], allowed))
    ds = datasets.Dataset.from_dict(out, features=datasets.Features(features))
    return ds, report


def dataset_to_frame(ds) -> pd.DataFrame:
    """A datasets.Dataset (or anything with to_pandas) as a DataFrame."""
    return ds.to_pandas() if hasattr(ds, "to_pandas") else pd.DataFrame(ds)


# --------------------------------------------------------------------------------------------------------------
# Few-shot splits
# --------------------------------------------------------------------------------------------------------------


def _stratified_counts(class_sizes: dict[str, int], n_total: int) -> dict[str, int]:
    """Largest-remainder allocation of n_total over classes, proportional to their sizes (deterministic ties)."""
    size = sum(class_sizes.values())
    exact = {c: n_total * s / size for c, s in class_sizes.items()}
    counts = {c: int(math.floor(v)) for c, v in exact.items()}
    left = n_total - sum(counts.values())
    order = sorted(class_sizes, key=lambda c: (-(exact[c] - counts[c]), c))
    for c in order[:left]:
        counts[c] += 1
    return counts


def few_shot_split(
    df: pd.DataFrame,
    *,
    label_column: str = "label",
    k: int,
    seed: int,
    test_size: int | float | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Split into (labeled, unlabeled, test) for a few-shot run.

    The test split is drawn first with a fixed RNG (seed 12345), stratified by label, so every seed and every k is
    scored on the same rows. `labeled` then takes k rows per class from the rest with numpy Generator(seed);
    `unlabeled` is what remains (its label column is kept for measuring pseudo-label accuracy). Each frame keeps
    the original row order and gets a fresh 0-based index.
    """
    if label_column not in df.columns:
        raise DataError(
            f"label column '{label_column}' not found; columns are: {', '.join(map(str, df.columns))}."
        )
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise DataError(f"k must be a whole number of examples per class, at least 1 (got {k!r}).")
    n = len(df)
    if n == 0:
        raise DataError("cannot split an empty data set; load some examples first.")
    if test_size is None:
        test_size = 0.5
    if isinstance(test_size, bool):
        raise DataError(f"test_size must be a number of rows or a fraction between 0 and 1 (got {test_size!r}).")
    if isinstance(test_size, (int, np.integer)):
        n_test = int(test_size)
        if not 0 <= n_test < n:
            raise DataError(f"test_size={n_test} rows must be between 0 and {n - 1} for a data set of {n} rows.")
    else:
        frac = float(test_size)
        if not 0.0 <= frac < 1.0:
            raise DataError(f"test_size={test_size} as a fraction must be at least 0 and below 1.")
        n_test = int(round(frac * n))

    label_arr = df[label_column].astype(str).to_numpy()
    positions = {c: np.flatnonzero(label_arr == c) for c in sorted(set(label_arr))}

    test_rng = np.random.default_rng(TEST_SPLIT_SEED)
    alloc = _stratified_counts({c: len(p) for c, p in positions.items()}, n_test)
    in_test = np.zeros(n, dtype=bool)
    for c, pos in positions.items():
        if alloc[c]:
            in_test[test_rng.choice(pos, size=alloc[c], replace=False)] = True

    rng = np.random.default_rng(seed)
    in_labeled = np.zeros(n, dtype=bool)
    short = []
    for c, pos in positions.items():
        pool = pos[~in_test[pos]]
        if len(pool) < k:
            short.append(f"'{c}' has {len(pool)}")
            continue
        in_labeled[rng.choice(pool, size=k, replace=False)] = True
    if short:
        raise DataError(
            f"not enough examples outside the test split for k={k} per class ({'; '.join(short)}); "
            "lower k, lower test_size or add data for those classes."
        )

    in_unlabeled = ~in_test & ~in_labeled
    take = lambda mask: df.iloc[np.flatnonzero(mask)].reset_index(drop=True)  # noqa: E731
    return take(in_labeled), take(in_unlabeled), take(in_test)


# --------------------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    return str(value)


def _clean_record(rec: dict) -> dict:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in rec.items()}


def _write_delimited(df: pd.DataFrame, fh: IO[str], delimiter: str) -> None:
    # csv's QUOTE_MINIMAL does not quote a lone "\r" when the line terminator is "\n", which would split the row
    # on reading; such rows are written fully quoted instead.
    minimal = csv.writer(fh, delimiter=delimiter, lineterminator="\n")
    quoted = csv.writer(fh, delimiter=delimiter, lineterminator="\n", quoting=csv.QUOTE_ALL)
    minimal.writerow([str(c) for c in df.columns])
    for row in df.itertuples(index=False, name=None):
        cells = ["" if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA else str(v) for v in row]
        (quoted if any("\r" in c for c in cells) else minimal).writerow(cells)


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write df as csv/tsv/jsonl/json/parquet (by extension) atomically: temp file in the same folder, fsync, replace.

    A crash or Ctrl-C mid-write therefore never leaves a half-written results file behind.
    """
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    fmt = _FORMAT_ALIASES.get(suffix)
    if fmt not in ("csv", "tsv", "jsonl", "json", "parquet"):
        raise DataError(f"cannot write '{path.name}': use a .csv, .tsv, .jsonl, .json or .parquet file name.")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        if fmt == "parquet":
            with os.fdopen(fd, "wb") as fh:
                df.to_parquet(fh, index=False)
                fh.flush()
                os.fsync(fh.fileno())
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                if fmt in ("csv", "tsv"):
                    _write_delimited(df, fh, "," if fmt == "csv" else "\t")
                else:
                    records = [_clean_record(r) for r in df.to_dict(orient="records")]
                    if fmt == "jsonl":
                        for rec in records:
                            fh.write(json.dumps(rec, ensure_ascii=False, default=_json_default) + "\n")
                    else:
                        json.dump(records, fh, ensure_ascii=False, default=_json_default, indent=1)
                        fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
