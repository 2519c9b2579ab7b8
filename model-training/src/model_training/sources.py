"""Readers for the three labelled-URL formats: Ebbu2017 JSON, DL `label<TAB>url`, CSV."""

import csv
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from lib_ml import LABELS, encode_label

Format = Literal["ebbu", "dl", "csv"]
# Each format and its file name ending, for reading a whole directory of one format.
SUFFIXES = {"ebbu": ".json", "dl": ".txt", "csv": ".csv"}
FORMATS: tuple[str, ...] = tuple(SUFFIXES)


class SourceFormatError(ValueError):
    """A data file does not follow its declared format."""


# Text files are read as UTF-8, with or without the byte order mark that Windows tools (Excel's
# "CSV UTF-8", Notepad) write at the start.
ENCODING = "utf-8-sig"


@dataclass(frozen=True, slots=True)
class Example:
    url: str
    label: int  # 0 legitimate, 1 phishing


def label_array(examples: Sequence[Example]) -> npt.NDArray[np.int64]:
    """The examples' labels as the int64 array metrics and models take."""
    return np.array([e.label for e in examples], dtype=np.int64)


def read_ebbu(path: Path, label: str) -> Iterator[Example]:
    """An Ebbu2017 file: a JSON array of URL strings, all with one label."""
    code = encode_label(label)
    try:
        urls = json.loads(path.read_text(encoding=ENCODING))
    except json.JSONDecodeError as exc:
        raise SourceFormatError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(urls, list):
        raise SourceFormatError(f"{path}: expected a JSON array of URLs")
    for position, url in enumerate(urls):
        if not isinstance(url, str):
            raise SourceFormatError(f"{path}: item {position} is not a string")
        yield Example(url, code)


def read_dl(path: Path) -> Iterator[Example]:
    """A DL Dataset file: `label<TAB>url` per line; the URL may itself contain tabs/spaces."""
    with path.open(encoding=ENCODING, newline="") as stream:
        for line_number, raw_line in enumerate(stream, start=1):
            line = raw_line.rstrip("\r\n")
            if not line.strip():
                continue
            label, tab, url = line.partition("\t")
            if not tab or label.strip().lower() not in LABELS:
                raise SourceFormatError(
                    f"{path}:{line_number}: expected 'legitimate|phishing<TAB>url', got {line[:80]!r}"
                )
            yield Example(url, encode_label(label))


def _number(text: str) -> float | None:
    """The number a label column holds: pandas writes a column of codes with a missing value
    among them as floats (`1.0`)."""
    try:
        return float(text)
    except ValueError:
        return None


def read_csv(path: Path) -> Iterator[Example]:
    """A CSV file with a header holding `url` and `label` columns, named in any case (label
    name or 0/1)."""
    with path.open(encoding=ENCODING, newline="") as stream:
        reader = csv.DictReader(stream)
        # Spreadsheets and pandas name columns `URL`, `Label` or `url, label` as readily.
        columns = {name.strip().lower(): name for name in reader.fieldnames or ()}
        if not {"url", "label"} <= set(columns):
            raise SourceFormatError(
                f"{path}: the CSV header must name 'url' and 'label', got {reader.fieldnames or []}"
            )
        for row in reader:
            # A row of empty fields is a blank line as spreadsheets save it (`,`): skipped as
            # csv skips an empty line.
            if not any(isinstance(field, str) and field.strip() for field in row.values()):
                continue
            label = (row[columns["label"]] or "").strip()
            if (number := _number(label)) in (0, 1):
                code = int(number)
            elif label.lower() in LABELS:
                code = encode_label(label)
            else:
                raise SourceFormatError(
                    f"{path}:{reader.line_num}: label {label!r} is not legitimate/phishing/0/1"
                )
            yield Example(row[columns["url"]] or "", code)


def ebbu_label(path: Path) -> str:
    """The label of a whole Ebbu2017 file, which holds bare URLs: its name says it
    (`data_phishing_37175.json`, `data_legitimate_36400.json`)."""
    named = [label for label in LABELS if label in path.name.lower()]
    if len(named) != 1:
        raise SourceFormatError(
            f"{path}: an Ebbu2017 file holds URLs without labels, so its name must say "
            "'phishing' or 'legitimate' (as data_phishing_37175.json does)"
        )
    return named[0]


def read_labelled(path: Path, file_format: str, label: str | None = None) -> list[Example]:
    """Read any supported file; Ebbu files need the label of the whole file (else their name
    gives it)."""
    try:
        if file_format == "ebbu":
            return list(read_ebbu(path, label or ebbu_label(path)))
        if file_format == "dl":
            return list(read_dl(path))
        if file_format == "csv":
            return list(read_csv(path))
    except UnicodeDecodeError as exc:
        raise SourceFormatError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from exc
    raise SourceFormatError(f"unknown format {file_format!r}; expected one of {FORMATS}")


def read_labelled_path(path: Path, file_format: str) -> list[Example]:
    """A file, or every file of the format in a directory (e.g. a DL Dataset's train, val
    and test files), in name order."""
    suffix = SUFFIXES.get(file_format)
    if suffix is None or not path.is_dir():
        return read_labelled(path, file_format)  # which refuses an unknown format
    files = sorted(file for file in path.glob(f"*{suffix}") if file.is_file())
    if not files:
        raise SourceFormatError(f"{path} holds no {suffix} file to read")
    return [example for file in files for example in read_labelled(file, file_format)]


def write_dl(path: Path, examples: list[Example]) -> None:
    """Write examples in DL format (the prepared splits and feedback exports use it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as stream:
        for example in examples:
            stream.write(f"{LABELS[example.label]}\t{example.url}\n")
