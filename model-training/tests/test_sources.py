import json
from pathlib import Path

import numpy as np
import pytest

from model_training.sources import (
    Example,
    SourceFormatError,
    label_array,
    read_csv,
    read_dl,
    read_ebbu,
    read_labelled,
    read_labelled_path,
    write_dl,
)


def test_ebbu_json(tmp_path: Path) -> None:
    path = tmp_path / "data_phishing_2.json"
    path.write_text(json.dumps(["a.com/x", "http://b.com"]))
    assert list(read_ebbu(path, "phishing")) == [Example("a.com/x", 1), Example("http://b.com", 1)]
    assert read_labelled(path, "ebbu") == list(read_ebbu(path, "phishing"))  # label from name


@pytest.mark.parametrize("name", ["PhishTank.json", "urls.json", "phishing_or_legitimate.json"])
def test_an_ebbu_file_whose_name_gives_no_label_is_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(json.dumps(["http://a.tk/"]))
    with pytest.raises(SourceFormatError, match="its name must say 'phishing' or 'legitimate'"):
        read_labelled(path, "ebbu")
    assert read_labelled(path, "ebbu", "phishing") == [Example("http://a.tk/", 1)]


@pytest.mark.parametrize("file_format", ["ebbu", "dl", "csv"])
def test_files_from_windows_tools_are_read(tmp_path: Path, file_format: str) -> None:
    content = {
        "ebbu": json.dumps(["http://a.tk/"]), "dl": "phishing\thttp://a.tk/\r\n",
        "csv": "url,label\r\nhttp://a.tk/,phishing\r\n",
    }[file_format]  # fmt: skip
    path = tmp_path / "data_phishing.txt"
    path.write_bytes(b"\xef\xbb\xbf" + content.encode())  # a byte order mark first
    assert read_labelled(path, file_format) == [Example("http://a.tk/", 1)]


@pytest.mark.parametrize("file_format", ["ebbu", "dl", "csv"])
def test_a_file_that_is_not_utf8_is_refused_by_name(tmp_path: Path, file_format: str) -> None:
    path = tmp_path / "data_phishing.txt"
    path.write_bytes(b"phishing\thttp://a.tk/\xff\n")
    with pytest.raises(SourceFormatError, match=f"{path}: not UTF-8 text"):
        read_labelled(path, file_format)


@pytest.mark.parametrize(
    ("payload", "message"),
    [("{", "not JSON"), ('{"a": 1}', "array"), ('["a", 3]', "item 1")],
)
def test_ebbu_errors(tmp_path: Path, payload: str, message: str) -> None:
    path = tmp_path / "legit.json"
    path.write_text(payload)
    with pytest.raises(SourceFormatError, match=message):
        read_labelled(path, "ebbu", "legitimate")


def test_dl_format_keeps_tabs_inside_urls_and_skips_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "train.txt"
    path.write_text("phishing\thttp://a.com/x\ty\n\nlegitimate\thttps://b.org/\r\n")
    assert list(read_dl(path)) == [Example("http://a.com/x\ty", 1), Example("https://b.org/", 0)]


def test_dl_format_strips_only_the_line_end(tmp_path: Path) -> None:
    # The URL is kept as written, up to its line end (cleaning is prepare's job): trailing
    # blanks and letters stay, and an empty URL is read as one, for prepare to count as invalid.
    path = tmp_path / "train.txt"
    path.write_bytes(b"phishing\thttp://a.com/x \t\r\nphishing\thttp://b.org/FAX\nlegitimate\t\n")
    assert list(read_dl(path)) == [
        Example("http://a.com/x \t", 1), Example("http://b.org/FAX", 1), Example("", 0),
    ]  # fmt: skip


@pytest.mark.parametrize("line", ["phishing http://a.com", "benign\thttp://a.com"])
def test_dl_format_errors_name_the_line(tmp_path: Path, line: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(f"legitimate\thttps://ok.com\n{line}\n")
    with pytest.raises(SourceFormatError, match=r"bad.txt:2"):
        list(read_dl(path))


def test_csv_accepts_names_and_codes(tmp_path: Path) -> None:
    path = tmp_path / "urls.csv"
    path.write_text('url,label\n"http://a.com/?q=1,2",phishing\nhttps://b.org,0\nc.net,1\n')
    assert read_labelled(path, "csv") == [
        Example("http://a.com/?q=1,2", 1), Example("https://b.org", 0), Example("c.net", 1),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "csv_text",
    [
        "URL,Label\nhttp://a.tk/x,phishing\n",
        "url, label\nhttp://a.tk/x,1\n",
        " LABEL ,Url\n1,http://a.tk/x\n",
    ],
    ids=["capitalized", "spaced", "reordered"],
)
def test_csv_header_names_its_columns_in_any_case_and_spacing(
    tmp_path: Path, csv_text: str
) -> None:
    path = tmp_path / "urls.csv"
    path.write_text(csv_text)
    assert read_labelled(path, "csv") == [Example("http://a.tk/x", 1)]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("link,kind\na,b\n", "header"),
        ("url,label\na.com,maybe\n", "maybe"),
        ("url,label\na.com,0.5\n", "0.5"),
        ("url,label\na.com,nan\n", "nan"),
        ("url,label\na.com\n", r"bad.csv:2: label '' is not"),  # a row without its label
    ],
)
def test_csv_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(SourceFormatError, match=message):
        list(read_csv(path))


def test_csv_rows_of_empty_fields_are_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "urls.csv"
    path.write_text("url,label,note\r\nhttp://a.tk/,1,\r\n,,\r\n\r\n , ,\r\nb.org,0,\r\n,\r\n")
    assert read_labelled(path, "csv") == [Example("http://a.tk/", 1), Example("b.org", 0)]


def test_csv_codes_may_be_written_as_floats(tmp_path: Path) -> None:
    path = tmp_path / "urls.csv"
    path.write_text("url,label\nhttp://a.tk/,1.0\nhttps://b.org/,0.0\n")
    assert read_labelled(path, "csv") == [Example("http://a.tk/", 1), Example("https://b.org/", 0)]


def test_csv_row_without_its_url_reads_an_empty_url(tmp_path: Path) -> None:
    path = tmp_path / "urls.csv"
    path.write_text("label,url\n1\n0,b.org\n")
    assert read_labelled(path, "csv") == [Example("", 1), Example("b.org", 0)]


def test_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(SourceFormatError, match="unknown format"):
        read_labelled(tmp_path, "parquet")
    with pytest.raises(SourceFormatError, match="unknown format"):
        read_labelled_path(tmp_path, "parquet")


def test_a_directory_is_read_file_by_file_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "val.txt").write_text("phishing\thttp://b.tk/\n")
    (tmp_path / "test.txt").write_text("legitimate\thttp://a.org/\n")
    (tmp_path / "notes.md").write_text("not data\n")
    (tmp_path / "nested.txt").mkdir()
    assert read_labelled_path(tmp_path, "dl") == [
        Example("http://a.org/", 0),
        Example("http://b.tk/", 1),
    ]
    assert read_labelled_path(tmp_path / "val.txt", "dl") == [Example("http://b.tk/", 1)]


def test_a_directory_of_ebbu_files_takes_each_label_from_its_file_name(tmp_path: Path) -> None:
    (tmp_path / "data_phishing_1.json").write_text(json.dumps(["http://b.tk/"]))
    (tmp_path / "data_legitimate_1.json").write_text(json.dumps(["http://a.org/"]))
    assert read_labelled_path(tmp_path, "ebbu") == [
        Example("http://a.org/", 0),
        Example("http://b.tk/", 1),
    ]


def test_a_directory_without_a_file_of_the_format_is_refused(tmp_path: Path) -> None:
    (tmp_path / "urls.csv").write_text("url,label\na.com,0\n")
    with pytest.raises(SourceFormatError, match=f"{tmp_path} holds no .txt file"):
        read_labelled_path(tmp_path, "dl")


def test_dl_round_trip(tmp_path: Path) -> None:
    examples = [Example("http://a.com/x", 1), Example("b.org", 0)]
    write_dl(tmp_path / "out" / "dl" / "x.txt", examples)  # directories made as needed
    assert list(read_dl(tmp_path / "out" / "dl" / "x.txt")) == examples


def test_label_array_keeps_order_and_codes() -> None:
    labels = label_array([Example("a.com", 1), Example("b.org", 0), Example("c.net", 1)])
    assert labels.dtype == np.int64
    assert labels.tolist() == [1, 0, 1]
    assert (label_array([]).shape, label_array([]).dtype) == ((0,), np.int64)
