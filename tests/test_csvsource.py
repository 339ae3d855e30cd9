"""Tests for clicksms.bulk.source: dialects, encodings, header and number column, streaming."""

from __future__ import annotations

import io
import os
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from clicksms.bulk import source as csvsource
from clicksms.bulk.source import CsvRow, CsvSource, looks_like_number
from clicksms.errors import UsageError


def write(tmp_path: Path, data: bytes, name: str = "numbers.csv") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def rows_of(source: CsvSource) -> list[tuple[int, int, tuple[str, ...]]]:
    return [(r.row, r.line, r.values) for r in source.rows()]


def open_source(tmp_path: Path, data: bytes, **options: object) -> CsvSource:
    return CsvSource(write(tmp_path, data), **options)  # type: ignore[arg-type]


# --- dialects ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "delimiter", "header", "rows"),
    [
        pytest.param(
            b"name,phone\nBob,27821234567\nAnn,27831234567\n",
            ",",
            ("name", "phone"),
            [(1, 2, ("Bob", "27821234567")), (2, 3, ("Ann", "27831234567"))],
            id="comma",
        ),
        pytest.param(
            b"name;phone;msg\nBob;27821234567;Hi, Bob\nAnn;27831234567;Hi, Ann\n",
            ";",
            ("name", "phone", "msg"),
            [(1, 2, ("Bob", "27821234567", "Hi, Bob")), (2, 3, ("Ann", "27831234567", "Hi, Ann"))],
            id="semicolon-with-commas-in-text",
        ),
        pytest.param(
            b"27821234567\tBob\n27831234567\tAnn\n",
            "\t",
            None,
            [(1, 1, ("27821234567", "Bob")), (2, 2, ("27831234567", "Ann"))],
            id="tab-no-header",
        ),
        pytest.param(
            b"27821234567\n+44 7911 123456\n",
            ",",
            None,
            [(1, 1, ("27821234567",)), (2, 2, ("+44 7911 123456",))],
            id="single-column",
        ),
        pytest.param(
            b"phone,msg\r\n27821234567,hello\r\n27831234567,bye\r\n",
            ",",
            ("phone", "msg"),
            [(1, 2, ("27821234567", "hello")), (2, 3, ("27831234567", "bye"))],
            id="crlf",
        ),
        pytest.param(
            b'phone,msg\n27821234567,"a, b"\n27831234567,"line one\nline two\nthree"\n'
            b'27841234567,"say ""hi"""\n27851234567,last\n',
            ",",
            ("phone", "msg"),
            [
                (1, 2, ("27821234567", "a, b")),
                (2, 3, ("27831234567", "line one\nline two\nthree")),
                (3, 6, ("27841234567", 'say "hi"')),
                (4, 7, ("27851234567", "last")),
            ],
            id="quoted-delimiters-newlines-quotes",
        ),
        pytest.param(
            b'phone;msg\r\n27821234567;"x;y\r\nz"\r\n27831234567;w',
            ";",
            ("phone", "msg"),
            [(1, 2, ("27821234567", "x;y\r\nz")), (2, 4, ("27831234567", "w"))],
            id="crlf-inside-quotes-no-final-newline",
        ),
    ],
)
def test_dialects(
    tmp_path: Path,
    data: bytes,
    delimiter: str,
    header: tuple[str, ...] | None,
    rows: list[tuple[int, int, tuple[str, ...]]],
) -> None:
    with open_source(tmp_path, data) as source:
        assert source.delimiter == delimiter
        assert source.header == header
        assert rows_of(source) == rows


def test_delimiter_is_not_fooled_by_commas_inside_a_semicolon_file(tmp_path: Path) -> None:
    lines = [b"name;phone;message"] + [
        b"Smith, J%d;2782123%04d;Hello, dear, friend" % (i, i) for i in range(50)
    ]
    with open_source(tmp_path, b"\n".join(lines) + b"\n") as source:
        assert source.delimiter == ";"
        assert source.columns == ("name", "phone", "message")


def test_a_record_straddling_the_sample_keeps_its_lines(tmp_path: Path) -> None:
    lines = [b"phone,msg"] + [b"2782%07d,m%d" % (i, i) for i in range(197)]
    data = b"\n".join(lines) + b'\n27800000001,"a\nb\nc\nd\ne"\n27800000002,after\n'
    with open_source(tmp_path, data) as source:
        rows = list(source.rows())
    assert rows[-2:] == [
        CsvRow(198, 199, ("27800000001", "a\nb\nc\nd\ne")),
        CsvRow(199, 204, ("27800000002", "after")),
    ]


def test_rows_are_csvrow_dataclasses(tmp_path: Path) -> None:
    with open_source(tmp_path, b"phone\n27821234567\n") as source:
        assert list(source.rows()) == [CsvRow(row=1, line=2, values=("27821234567",))]


# --- encodings --------------------------------------------------------------------------------

TEXT = "name,phone\nBjörk Ñúñez,27821234567\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        pytest.param(TEXT.encode("utf-8"), None, id="utf-8"),
        pytest.param(b"\xef\xbb\xbf" + TEXT.encode("utf-8"), None, id="utf-8-bom"),
        pytest.param(b"\xef\xbb\xbf" + TEXT.encode("utf-8"), "utf-8", id="utf-8-bom-explicit"),
        pytest.param(b"\xef\xbb\xbf" + TEXT.encode("utf-8"), "utf-8-sig", id="utf-8-sig"),
        pytest.param(TEXT.encode("utf-16"), None, id="utf-16-bom-detected"),
        pytest.param(TEXT.encode("utf-16"), "utf-16", id="utf-16-bom"),
        pytest.param(TEXT.encode("utf-16-be"), "utf-16-be", id="utf-16-be"),
        pytest.param(TEXT.encode("utf-32"), None, id="utf-32-bom-detected"),
        pytest.param(TEXT.encode("latin-1"), "latin-1", id="latin-1"),
        pytest.param(TEXT.encode("cp1252"), "cp1252", id="cp1252"),
        pytest.param(TEXT.replace("\n", "\r\n").encode("utf-16-le"), "utf-16-le", id="u16le-crlf"),
    ],
)
def test_encodings(tmp_path: Path, data: bytes, encoding: str | None) -> None:
    with open_source(tmp_path, data, encoding=encoding) as source:
        assert source.header == ("name", "phone")
        assert [r.values for r in source.rows()] == [("Björk Ñúñez", "27821234567")]


def test_bom_with_utf16_crosses_chunk_boundaries(tmp_path: Path) -> None:
    text = "phone,msg\n" + "".join(f"2782{i:07d},héllo {i}\n" for i in range(20_000))
    with open_source(tmp_path, text.encode("utf-16")) as source:
        rows = list(source.rows())
    assert len(rows) == 20_000
    assert rows[-1] == CsvRow(20_000, 20_001, ("27820019999", "héllo 19999"))


def test_latin1_deep_in_the_file_names_the_exact_line(tmp_path: Path) -> None:
    lines = ["name,phone"] + [f"Person {i},2782{i:07d}" for i in range(1, 6000)]
    lines[4999] = "José,27821234567"  # physical line 5000
    data = "\n".join(lines).encode("latin-1") + b"\n"
    source = open_source(tmp_path, data)  # the sample is clean: the error comes while streaming
    seen: list[CsvRow] = []
    with pytest.raises(UsageError) as caught:
        seen.extend(source.rows())
    source.close()
    assert str(caught.value) == (
        f"{tmp_path / 'numbers.csv'} line 5000 is not valid UTF-8 (byte 0xe9): "
        "pass --encoding, e.g. --encoding cp1252"
    )
    assert seen[-1].line == 4999  # every row before the bad line was handed out
    with open_source(tmp_path, data, encoding="latin-1") as source:
        rows = list(source.rows())
    assert rows[4998] == CsvRow(4999, 5000, ("José", "27821234567"))


@pytest.mark.parametrize(
    ("data", "line"),
    [
        pytest.param(b"phone,name\n27821234567,Ren\xe9e\n", 2, id="line-2"),
        pytest.param(b'phone,msg\n27821234567,"a\nb\xe9"\n', 3, id="inside-quoted-newline"),
        pytest.param(b"\xe9,phone\n", 1, id="line-1"),
        pytest.param(b"phone\n27821234567\n\xe2\x82", 3, id="truncated-at-eof"),
    ],
)
def test_bad_utf8_in_the_sample_fails_at_open(tmp_path: Path, data: bytes, line: int) -> None:
    with pytest.raises(UsageError, match=rf"^\S+numbers.csv line {line} is not valid UTF-8 "):
        open_source(tmp_path, data)


def test_bad_utf16_deep_in_the_file(tmp_path: Path) -> None:
    text = "phone\n" + "".join(f"2782{i:07d}\n" for i in range(5000))
    source = open_source(tmp_path, text.encode("utf-16") + b"\x00")  # a stray odd byte at the end
    with pytest.raises(UsageError, match=r"line 5002 is not valid UTF-16 \(byte 0x00\): pass the"):
        list(source.rows())
    source.close()


def test_bad_bytes_in_a_chosen_encoding(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        CsvSource("-", stdin=io.BytesIO(b"phone\n27821234567\n\x81\n"), encoding="cp1252")
    assert str(caught.value) == (
        "<stdin> line 3 is not valid cp1252 (byte 0x81): pass the file's real encoding with "
        "--encoding"
    )


@pytest.mark.parametrize("encoding", ["klingon", "hex", "rot13", ""])
def test_unknown_encoding(tmp_path: Path, encoding: str) -> None:
    path = write(tmp_path, b"phone\n27821234567\n")
    with pytest.raises(UsageError, match=r"^unknown encoding .* \(--encoding\): use a name such"):
        CsvSource(path, encoding=encoding)


# --- header and number column ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "header", "columns", "index", "column"),
    [
        pytest.param(
            b"name,phone\nBob,27821234567\n",
            ("name", "phone"),
            ("name", "phone"),
            1,
            "phone",
            id="header",
        ),
        pytest.param(
            b" Name , Mobile No \nBob,082 123 4567\n",
            (" Name ", " Mobile No "),
            ("Name", "Mobile No"),
            1,
            "Mobile No",
            id="header-names-stripped",
        ),
        pytest.param(
            b"Bob,27821234567\nAnn,27831234567\n",
            None,
            ("1", "2"),
            1,
            "2",
            id="no-header",
        ),
        pytest.param(
            b"name,phone\n",
            ("name", "phone"),
            ("name", "phone"),
            1,
            "phone",
            id="header-only",
        ),
        pytest.param(b"a,b\n", ("a", "b"), ("a", "b"), 0, "a", id="header-only-no-hint"),
        pytest.param(
            b"27821234567,Bob\n",
            None,
            ("1", "2"),
            0,
            "1",
            id="one-data-row",
        ),
        pytest.param(
            b"id,phone\n1234567,27821234567\n7654321,27831234567\n",
            ("id", "phone"),
            ("id", "phone"),
            1,
            "phone",
            id="tie-broken-by-name",
        ),
        pytest.param(
            b"order number,mobile\n27821234567,27831234567\n",
            ("order number", "mobile"),
            ("order number", "mobile"),
            1,
            "mobile",
            id="strong-name-beats-weak",
        ),
        pytest.param(
            b"1234567,+27821234567\n7654321,+27831234567\n",
            None,
            ("1", "2"),
            1,
            "2",
            id="no-header-tie-prefers-international",
        ),
        pytest.param(
            b"name,,msg\nBob,27821234567,hi\n",
            ("name", "", "msg"),
            ("name", "", "msg"),
            1,
            "2",
            id="blank-header-cell",
        ),
        pytest.param(
            b"phone,msg\n27821234567,a\nnot a number,b\n27841234567,c\n",
            ("phone", "msg"),
            ("phone", "msg"),
            0,
            "phone",
            id="mostly-numbers",
        ),
    ],
)
def test_header_and_number_column_detection(
    tmp_path: Path,
    data: bytes,
    header: tuple[str, ...] | None,
    columns: tuple[str, ...],
    index: int,
    column: str,
) -> None:
    with open_source(tmp_path, data) as source:
        assert (source.header, source.columns) == (header, columns)
        assert (source.number_index, source.number_column) == (index, column)
        assert source.number_column_guessed is True


@pytest.mark.parametrize(
    ("data", "spec", "index", "column", "header"),
    [
        pytest.param(b"name,phone\nBob,27821234567\n", "phone", 1, "phone", True, id="name"),
        pytest.param(b"name,phone\nBob,27821234567\n", " PHONE ", 1, "phone", True, id="any-case"),
        pytest.param(b"name,phone\nBob,27821234567\n", "2", 1, "phone", True, id="index"),
        pytest.param(b"Bob,27821234567\n", "2", 1, "2", False, id="index-no-header"),
        pytest.param(
            b"home,work\n27821234567,27831234567\n", "work", 1, "work", True, id="pick-second"
        ),
        pytest.param(b"name,x\nBob,garbage\n", "x", 1, "x", True, id="name-not-numbers"),
        pytest.param(b"2,27821234567\n3,27831234567\n", "2", 1, "2", False, id="digit-not-name"),
        pytest.param(b"", "phone", 0, "1", False, id="empty-file"),
    ],
)
def test_number_column_given(
    tmp_path: Path, data: bytes, spec: str, index: int, column: str, header: bool
) -> None:
    with open_source(tmp_path, data, number_column=spec) as source:
        assert (source.number_index, source.number_column) == (index, column)
        assert source.number_column_guessed is False
        assert (source.header is not None) is header


@pytest.mark.parametrize(
    ("data", "spec", "message"),
    [
        pytest.param(
            b"name,phone\nBob,27821234567\n",
            "mobile",
            "--number-column 'mobile' is not a column of {path}: use one of name, phone, or a "
            "column number from 1 to 2",
            id="unknown-name",
        ),
        pytest.param(
            b"name,phone\nBob,27821234567\n",
            "3",
            "--number-column 3 is out of range: {path} has 2 columns (name, phone)",
            id="index-too-big",
        ),
        pytest.param(
            b"Bob,27821234567\n",
            "0",
            "--number-column 0 is out of range: {path} has 2 columns (1, 2)",
            id="index-zero",
        ),
        pytest.param(
            b"Bob,27821234567,x\n",
            "phone",
            "--number-column 'phone' is not a column of {path}: it has no header row, so give "
            "a column number from 1 to 3",
            id="name-without-header",
        ),
    ],
)
def test_number_column_errors(tmp_path: Path, data: bytes, spec: str, message: str) -> None:
    path = write(tmp_path, data)
    with pytest.raises(UsageError) as caught:
        CsvSource(path, number_column=spec)
    assert str(caught.value) == message.replace("{path}", str(path))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            b"name,city\nBob,Paris\nAnn,Rome\n",
            "{path}: no column looks like phone numbers; pass --number-column with one of: "
            "name, city",
            id="header",
        ),
        pytest.param(
            b"Bob,Paris,1\nAnn,Rome,2\n",
            "{path}: no column looks like phone numbers; pass --number-column with a column "
            "number from 1 to 3",
            id="no-header",
        ),
    ],
)
def test_no_number_column(tmp_path: Path, data: bytes, message: str) -> None:
    path = write(tmp_path, data)
    with pytest.raises(UsageError) as caught:
        CsvSource(path)
    assert str(caught.value) == message.replace("{path}", str(path))


@pytest.mark.parametrize("has_header", [True, False])
def test_header_can_be_forced(tmp_path: Path, has_header: bool) -> None:
    with open_source(tmp_path, b"Bob,27821234567\n", has_header=has_header) as source:
        assert (source.header is not None) is has_header
        assert len(list(source.rows())) == (0 if has_header else 1)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("27821234567", True),
        ("+27 82 123 4567", True),
        ("0027-82-123-4567", True),
        ("(082) 123.4567", True),
        ("1234567", True),
        ("123456", False),
        ("+1234567890123456", False),
        ("phone", False),
        ("2.78212E+10", False),
        ("", False),
    ],
)
def test_looks_like_number(cell: str, expected: bool) -> None:
    assert looks_like_number(cell) is expected


# --- blank, ragged and broken input ------------------------------------------------------------


def test_blank_lines_are_skipped_and_line_numbers_stay_right(tmp_path: Path) -> None:
    data = b"\nphone,name\n\n27821234567,Bob\n   \n,,\n27831234567,Ann\n\n"
    with open_source(tmp_path, data) as source:
        assert source.header == ("phone", "name")
        assert rows_of(source) == [
            (1, 4, ("27821234567", "Bob")),
            (2, 7, ("27831234567", "Ann")),
        ]


def test_ragged_rows_are_yielded_as_they_are(tmp_path: Path) -> None:
    data = b"name,phone,city\nBob,27821234567\nAnn,27831234567,Rome,extra\nCy\n"
    with open_source(tmp_path, data) as source:
        assert [r.values for r in source.rows()] == [
            ("Bob", "27821234567"),
            ("Ann", "27831234567", "Rome", "extra"),
            ("Cy",),
        ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            b"phone\n27821234567\n2783\x001234567\n",
            "{path} line 3 contains NUL bytes: is this a CSV file?",
            id="nul",
        ),
        pytest.param(
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "{path} line 1 is not text (byte 0x89) and the file contains NUL bytes: "
            "is this a CSV file?",
            id="binary",
        ),
        pytest.param(
            "phone,name\n27821234567,Bob\n".encode("utf-16-le"),
            "{path} line 1 contains NUL bytes: is this a CSV file? "
            "(UTF-16 text? pass --encoding utf-16)",
            id="utf-16-without-bom",
        ),
        pytest.param(
            b'phone,msg\n27821234567,"never closed\n27831234567,hi\n',
            "{path} line 2 opens a quote that is never closed: close it, and write a quote "
            'inside a quoted field as ""',
            id="unclosed-quote",
        ),
        pytest.param(
            b'phone,msg\n27821234567,ok\n27831234567,"quoted"tail\n',
            "{path} line 3 has text after a closing quote: quote the whole field and write "
            'each quote inside it as ""',
            id="text-after-quote",
        ),
        pytest.param(
            b"phone,msg\r27821234567,hi\r27831234567,yo\r",
            "{path} line 1 has a carriage return outside quotes: save the file with ordinary "
            "(LF or CRLF) line endings",
            id="old-mac-line-endings",
        ),
    ],
)
def test_broken_input(tmp_path: Path, data: bytes, message: str) -> None:
    path = write(tmp_path, data)
    with pytest.raises(UsageError) as caught, CsvSource(path) as source:
        list(source.rows())
    assert str(caught.value) == message.replace("{path}", str(path))


def test_nul_deep_in_the_file_comes_from_rows(tmp_path: Path) -> None:
    lines = [b"2782%07d" % i for i in range(3000)]
    lines[2500] = b"\x00\x00\x00"
    source = open_source(tmp_path, b"\n".join(lines))
    with pytest.raises(UsageError, match=r"line 2501 contains NUL bytes"):
        list(source.rows())
    source.close()


def test_huge_field(tmp_path: Path) -> None:
    big = b"x" * (csvsource.FIELD_LIMIT + 10)
    data = b'phone,msg\n27821234567,hi\n27831234567,"' + big + b'"\n'
    path = write(tmp_path, data)
    with pytest.raises(UsageError) as caught, CsvSource(path) as source:
        list(source.rows())
    assert str(caught.value) == (
        f"{path} line 3 has a field longer than 1 MiB: check it for a quote that is never closed"
    )


def test_huge_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csvsource, "MAX_LINE", 10_000)
    data = b"phone\n27821234567\n" + b"7" * 200_000 + b"\n"
    with pytest.raises(UsageError, match=r"numbers.csv line 3 is longer than 0 MiB"):
        open_source(tmp_path, data)


@pytest.mark.parametrize("data", [b"", b"\n\n  \n", b"\xef\xbb\xbf"], ids=["empty", "blank", "bom"])
def test_empty_file(tmp_path: Path, data: bytes) -> None:
    with open_source(tmp_path, data) as source:
        assert (source.header, source.columns) == (None, ())
        assert list(source.rows()) == []


def test_header_only(tmp_path: Path) -> None:
    with open_source(tmp_path, b"name,phone\n") as source:
        assert source.columns == ("name", "phone")
        assert list(source.rows()) == []


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(lambda p: p / "missing.csv", "{path}: no such file", id="missing"),
        pytest.param(lambda p: p, "{path} is a directory, not a CSV file", id="directory"),
    ],
)
def test_unopenable_paths(tmp_path: Path, make: object, message: str) -> None:
    path = str(make(tmp_path))  # type: ignore[operator]
    with pytest.raises(UsageError) as caught:
        CsvSource(path)
    assert str(caught.value) == message.replace("{path}", str(path))


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read anything")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path, b"phone\n27821234567\n")
    os.chmod(path, 0)
    with pytest.raises(UsageError, match=r"cannot be read: permission denied$"):
        CsvSource(path)


# --- stdin, lifecycle, streaming -------------------------------------------------------------


def test_stdin(tmp_path: Path) -> None:
    stream = io.BytesIO(b"\xef\xbb\xbfphone;name\n27821234567;Bob\n")
    with CsvSource("-", stdin=stream) as source:
        assert (source.name, source.delimiter, source.size) == ("<stdin>", ";", None)
        assert rows_of(source) == [(1, 2, ("27821234567", "Bob"))]
    assert not stream.closed  # stdin belongs to the caller


def test_file_is_closed_and_rows_stream_once(tmp_path: Path) -> None:
    data = b"phone\n27821234567\n"
    with open_source(tmp_path, data) as source:
        assert source.size == len(data)
        list(source.rows())
        assert source.bytes_read == len(data)
        with pytest.raises(RuntimeError):
            source.rows()
    assert source._stream.closed


def generated_rows(count: int) -> Iterator[bytes]:
    yield b"name,phone,city\n"
    for i in range(count):
        yield b"Person %d,2782%07d,City %d\n" % (i, i, i % 100)


def test_rows_stream_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("wb") as handle:
        handle.writelines(generated_rows(100_000))
    tracemalloc.start()
    try:
        with CsvSource(str(path)) as source:
            count = 0
            for row in source.rows():
                count += 1
                last = row
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 100_000
    assert last == CsvRow(100_000, 100_001, ("Person 99999", "27820099999", "City 99"))
    assert path.stat().st_size > 3_000_000
    assert peak < 1_500_000  # a few chunks and the sample (~0.8 MB), not the 3 MB file


def test_first_row_arrives_while_the_pipe_is_still_open() -> None:
    read_fd, write_fd = os.pipe()
    writer = os.fdopen(write_fd, "wb")
    writer.writelines(generated_rows(300))
    writer.flush()
    result: list[CsvRow] = []

    def consume() -> None:
        with os.fdopen(read_fd, "rb") as reader:
            source = CsvSource("-", stdin=reader)
            result.append(next(source.rows()))

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    thread.join(timeout=10)
    still_waiting = thread.is_alive()
    writer.close()  # unblocks a reader that wanted the whole file
    thread.join(timeout=10)
    assert not still_waiting, "CsvSource waited for the end of the input"
    assert result == [CsvRow(1, 2, ("Person 0", "27820000000", "City 0"))]


# --- ambiguous and very wide headers (issue 15) -----------------------------------------------


@pytest.mark.parametrize(
    ("data", "spec"),
    [
        pytest.param(b"phone,phone\n27821234567,27831234567\n", None, id="detected"),
        pytest.param(b"phone,name,phone\n27821234567,Bob,x\n", "phone", id="named"),
        pytest.param(b"name,phone,Phone\nBob,27821234567,27831234567\n", "PHONE", id="any-case"),
    ],
)
def test_a_number_column_whose_name_is_repeated_is_refused(
    tmp_path: Path, data: bytes, spec: str | None
) -> None:
    path = write(tmp_path, data)
    with pytest.raises(UsageError) as caught:
        CsvSource(path, number_column=spec)
    header = data.split(b"\n")[0].decode().split(",")
    first = header.index("phone") + 1
    second = len(header) - [h.casefold() for h in reversed(header)].index("phone")
    assert str(caught.value) == (
        f"{path} has more than one column named 'phone' (columns {first} and {second}), so "
        f"clicksms cannot tell which holds the numbers: rename one, or choose with "
        f"--number-column {first}"
    )


def test_a_repeated_name_chosen_by_its_number_is_fine(tmp_path: Path) -> None:
    with open_source(tmp_path, b"phone,phone\n27821234567,27831234567\n", number_column="2") as src:
        assert src.number_index == 1
        assert [r.values for r in src.rows()] == [("27821234567", "27831234567")]


def test_a_placeholder_naming_a_repeated_column_is_refused(cli, tmp_path: Path) -> None:
    path = write(tmp_path, b"phone,name,name\n27821234567,Bob,Robert\n")
    run = cli("bulk", path, "-t", "Hi {name}", "--dry-run")
    assert run.exit_code == 2
    assert run.stderr.splitlines()[-1] == (
        "Error: {name} in the template could mean column 2 or 3, both named 'name': rename one "
        "in the file, or use the column's number ({2} or {3})"
    )
    fine = cli("bulk", path, "-t", "Hi {3}", "--dry-run")  # by number, or unused: no doubt
    assert fine.exit_code == 0, fine.stderr


@pytest.mark.parametrize("where", [0, 10_000, 20_000])
def test_a_file_with_20001_columns_finds_its_number_column(cli, tmp_path: Path, where: int) -> None:
    """The header alone is longer than the sample: the sample still takes data rows."""
    names = [f"field{i}" for i in range(20_000)]
    names.insert(where, "mobile")
    lines = [",".join(names)]
    for n in range(3):
        cells = ["x"] * 20_000
        cells.insert(where, f"2782123456{n}")
        lines.append(",".join(cells))
    path = write(tmp_path, ("\n".join(lines) + "\n").encode())
    with CsvSource(path) as source:
        assert source.header is not None and len(source.columns) == 20_001
        assert (source.number_index, source.number_column) == (where, "mobile")
        assert [r.values[where] for r in source.rows()] == [f"2782123456{n}" for n in range(3)]
    run = cli("bulk", path, "-t", "Hi {field7}", "--dry-run", "-o", "json")
    assert run.exit_code == 0, run.stderr
    assert "numbers in column 'mobile' (detected" in run.stderr
