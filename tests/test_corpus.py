"""A table of bad inputs, each run through the real CLI against a real sandbox.

One row per input: the exact exit code, the one line on stderr that names the cause (other
stderr lines may only be the notes bulk documents), no traceback, and what reached the gateway:
every valid number exactly once, nothing else. For bulk, the rows that were not sent are checked
by row number in the ``-o json`` output; a file that cannot be read to its end is refused whole,
naming the line, before anything is sent. ``test_bad_input.py`` has the cases that need more
than a table row.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import sent_ops
from helpers import closed_port

N1, N2, N3, N4 = (f"2782100000{i}" for i in range(1, 5))
NUMBER = "27821234567"
FORMULA = "=cmd|' /C calc'!A0"
MIB = 1024 * 1024

#: The notes bulk prints on stderr besides its error or summary line (README "The file").
INFO = (
    re.compile(
        r"Reading .+: (comma|semicolon|tab)-separated, with(out)? a header row; numbers in "
        r"column '.*' \((detected; choose with --number-column|chosen)\)\."
    ),
    re.compile(r"Job \w+: \d+ row\(s\) recorded \(journal .+\)\."),
    re.compile(r"Results written to .+\."),
)

Data = bytes | Callable[[], bytes]


@dataclass(frozen=True)
class Case:
    """One bad input: the command line, the files it needs, and everything expected of it.

    ``stderr`` is a regex for the last stderr line (``\\{tmp\\}`` stands for the test's
    directory, as ``lit`` escapes ``{tmp}``). ``rows`` are the items not sent, as (row or
    position, status, error regex). ``sent`` are the numbers the ledger must hold exactly once
    each, ``texts`` the text some of them must have received, and ``results`` cells of the
    ``--results`` CSV file as (row, column, value).
    """

    id: str
    args: tuple[str, ...]
    code: int
    stderr: str | None
    files: tuple[tuple[str, Data], ...] = ()
    stdin: str | None = None
    env: tuple[tuple[str, str | None], ...] = ()
    sent: tuple[str, ...] = ()
    rows: tuple[tuple[int, str, str], ...] = ()
    texts: tuple[tuple[str, str], ...] = ()
    results: tuple[tuple[int, str, str], ...] = ()


def lit(text: str) -> str:
    """A literal line as a regex; ``{tmp}`` stays a placeholder and ``{job}`` is any job ID."""
    return re.escape(text).replace(r"\{job\}", r"\w+")


def summary(sent: int, skipped: int = 0) -> str:
    """Bulk's last stderr line for a run that finished (every message here is one part)."""
    line = lit(
        f"Job {{job}}: {sent} sent, 0 failed, {skipped} skipped (invalid or duplicate), "
        "0 not sent yet"
    )
    if sent:
        line += lit(f"; {sent} part(s) sent in this run, with up to ") + r"[1-9]\d* "
        line += lit("request(s) in flight at once")
    return line + lit(".")


def bulk(
    id: str,
    data: Data | None,
    *,
    flags: tuple[str, ...] = (),
    code: int,
    stderr: str,
    template: str = "Hi {name}",
    **expect: object,
) -> Case:
    """A ``bulk`` case on ``{tmp}/in.csv`` (``data``) or stdin (None), read back as JSON."""
    source = "-" if data is None else "{tmp}/in.csv"
    files = () if data is None else (("in.csv", data),)
    args = ("bulk", source, "-t", template, *flags, "-o", "json")
    return Case(id, args, code, stderr, files, **expect)  # type: ignore[arg-type]


def error(text: str) -> str:
    return lit("Error: " + text)


def file_error(text: str) -> str:
    """A usage error about the input file, which messages name by its path."""
    return error("{tmp}/in.csv" + ("" if text.startswith(":") else " ") + text)


NOT_A_NUMBER = lit(
    "invalid number: not a phone number: use digits (spaces, dashes, dots, brackets allowed), "
    "+ first"
)
NO_COUNTRY = lit(
    "invalid number: national number without a country: use +<country code> or --country"
)
TWO = f"phone,name\n{N1},Ann\n{N2},Bob\n".encode()
ZOE = f"phone,name\n{N1},Zoë\n{N2},Ann\n"
ZOE_TEXTS = ((N1, "Hi Zoë"), (N2, "Hi Ann"))


def rows_of(*numbers: str) -> str:
    return "".join(f"{number},n{i}\n" for i, number in enumerate(numbers, 1))


# --- CSV files for bulk --------------------------------------------------------------------

ENCODINGS = [
    bulk(
        "latin-1-without-encoding",
        f"phone,name\n{N1},Jos\xe9\n{N2},Ann\n".encode("latin-1"),
        code=2,
        stderr=file_error(
            "line 2 is not valid UTF-8 (byte 0xe9): pass --encoding, e.g. --encoding cp1252"
        ),
    ),
    bulk(
        "latin-1-with-encoding",
        f"phone,name\n{N1},Jos\xe9\n{N2},Ann\n".encode("latin-1"),
        flags=("--encoding", "latin-1"),
        code=0,
        stderr=summary(2),
        sent=(N1, N2),
        texts=((N1, "Hi José"),),
    ),
    bulk(
        "cp1252-without-encoding",
        f"phone,name\n{N1},\u20acuro\n{N2},Ann\n".encode("cp1252"),
        code=2,
        stderr=file_error(
            "line 2 is not valid UTF-8 (byte 0x80): pass --encoding, e.g. --encoding cp1252"
        ),
    ),
    bulk(
        "cp1252-with-encoding",
        f"phone,name\n{N1},\u20acuro\n{N2},Ann\n".encode("cp1252"),
        flags=("--encoding", "cp1252"),
        code=0,
        stderr=summary(2),
        sent=(N1, N2),
        texts=((N1, "Hi €uro"),),
    ),
    bulk(
        "cp1252-bytes-undefined-in-cp1252",
        f"phone,name\n{N1},Ann\n".encode() + b"27821000002,\x81\n",
        flags=("--encoding", "cp1252"),
        code=2,
        stderr=file_error(
            "line 3 is not valid cp1252 (byte 0x81): pass the file's real encoding with --encoding"
        ),
    ),
    bulk(
        "utf-16-le-bom-detected",
        ZOE.encode("utf-16"),
        code=0,
        stderr=summary(2),
        sent=(N1, N2),
        texts=ZOE_TEXTS,
    ),
    bulk(
        "utf-16-be-bom-detected",
        b"\xfe\xff" + ZOE.encode("utf-16-be"),
        code=0,
        stderr=summary(2),
        sent=(N1, N2),
        texts=ZOE_TEXTS,
    ),
    bulk(
        "utf-16-bom-with-encoding",
        ZOE.encode("utf-16"),
        flags=("--encoding", "utf-16"),
        code=0,
        stderr=summary(2),
        sent=(N1, N2),
        texts=ZOE_TEXTS,
    ),
    bulk(
        "utf-16-le-without-bom-without-encoding",
        ZOE.encode("utf-16-le"),
        code=2,
        stderr=file_error(
            "line 2 is not text (byte 0xeb) and the file contains NUL bytes: is this a CSV "
            "file? (UTF-16 text? pass --encoding utf-16)"
        ),
    ),
    bulk(
        "utf-16-le-ascii-without-bom-without-encoding",
        f"phone,name\n{N1},Ann\n".encode("utf-16-le"),
        code=2,
        stderr=file_error(
            "line 1 contains NUL bytes: is this a CSV file? (UTF-16 text? pass --encoding utf-16)"
        ),
    ),
    bulk(
        "utf-16-le-without-bom-with-encoding-utf-16",
        ZOE.encode("utf-16-le"),
        flags=("--encoding", "utf-16"),
        code=0,
        stderr=summary(2),
        sent=(N1, N2),
        texts=ZOE_TEXTS,
    ),
    bulk(
        "utf-16-be-without-bom-with-encoding-utf-16",
        ZOE.encode("utf-16-be"),
        flags=("--encoding", "utf-16"),
        code=0,
        stderr=summary(2),
        sent=(N1, N2),
        texts=ZOE_TEXTS,
    ),
    bulk(
        "utf-16-le-without-bom-with-encoding-utf-16-le",
        ZOE.encode("utf-16-le"),
        flags=("--encoding", "utf-16-le"),
        code=0,
        stderr=summary(2),
        sent=(N1, N2),
        texts=ZOE_TEXTS,
    ),
    bulk(
        "utf-32-bom-detected",
        ZOE.encode("utf-32"),
        code=0,
        stderr=summary(2),
        sent=(N1, N2),
        texts=ZOE_TEXTS,
    ),
    bulk(
        "utf-8-bom",
        b"\xef\xbb\xbf" + ZOE.encode(),
        code=0,
        stderr=summary(2),
        sent=(N1, N2),
        texts=ZOE_TEXTS,
    ),
    bulk(
        "utf-8-bom-contradicts-encoding",
        b"\xef\xbb\xbf" + ZOE.encode(),
        flags=("--encoding", "cp1252"),
        code=2,
        stderr=file_error(
            "starts with a UTF-8 byte order mark but --encoding cp1252 was given: drop --encoding"
        ),
    ),
    bulk(
        "utf-16-bom-contradicts-encoding",
        ZOE.encode("utf-16"),
        flags=("--encoding", "utf-8"),
        code=2,
        stderr=file_error(
            "starts with a UTF-16-LE byte order mark but --encoding utf-8 was given: drop "
            "--encoding"
        ),
    ),
    bulk(
        "stray-bom-at-a-line-start",
        f"phone,name\n{N1},Ann\n\ufeff{N2},Bob\n".encode(),
        code=0,
        stderr=summary(2),
        sent=(N1, N2),
    ),
    bulk(
        "unknown-encoding",
        TWO,
        flags=("--encoding", "utf-9"),
        code=2,
        stderr=error(
            "unknown encoding 'utf-9' (--encoding): use a name such as utf-8, cp1252, latin-1 "
            "or utf-16"
        ),
    ),
    bulk(
        "bom-and-an-invalid-row-on-stdin",
        None,
        code=6,
        stderr=summary(1, 1),
        stdin=f"\ufeffphone,name\n{N1},Ann\nxx,Bob\n",
        sent=(N1,),
        rows=((2, "invalid", NOT_A_NUMBER),),
    ),
]

SHAPES = [
    bulk(
        "mixed-delimiters-semicolon-row-in-comma-file",
        f"phone,name\n{N1},Ann\n{N2};Bob\n{N3},Cy\n".encode(),
        code=6,
        stderr=summary(2, 1),
        sent=(N1, N3),
        rows=((2, "invalid", NOT_A_NUMBER),),
    ),
    bulk(
        "mixed-delimiters-comma-row-in-semicolon-file",
        f"name;phone\nAnn;{N1}\nBob,{N2}\nCy;{N3}\n".encode(),
        code=6,
        stderr=summary(2, 1),
        sent=(N1, N3),
        rows=((2, "invalid", lit("row has no column 2")),),
    ),
    bulk(
        "ragged-row-missing-a-template-column",
        f"phone,name,order\n{N1},Ann,A1\n{N2},Bob\n{N3},Cy,C3\n".encode(),
        template="Hi {name}, order {order}",
        code=6,
        stderr=summary(2, 1),
        sent=(N1, N3),
        rows=((2, "invalid", lit("row has no value for {order}")),),
        texts=((N3, "Hi Cy, order C3"),),
    ),
    bulk(
        "ragged-row-missing-the-number-column",
        f"name,phone\nAnn,{N1}\nBob\nCy,{N3}\n".encode(),
        code=6,
        stderr=summary(2, 1),
        sent=(N1, N3),
        rows=((2, "invalid", lit("row has no column 2")),),
    ),
    bulk(
        "ragged-row-with-extra-fields",
        f"phone,name\n{N1},Ann,surplus,more\n{N2},Bob\n".encode(),
        code=0,
        stderr=summary(2),
        sent=(N1, N2),
        texts=((N1, "Hi Ann"),),
    ),
    bulk(
        "blank-lines-and-empty-records",
        f"\nphone,name\n\n{N1},Ann\n,\n  \n{N2},Bob\n\n".encode(),
        code=0,
        stderr=summary(2),
        sent=(N1, N2),
    ),
    bulk(
        "crlf-and-spaces-around-numbers",
        f"phone,name\r\n  {N1}  ,Ann\r\n\t{N2},Bob\r\n".encode(),
        code=0,
        stderr=summary(2),
        sent=(N1, N2),
        texts=((N2, "Hi Bob"),),
    ),
    bulk(
        "old-mac-line-endings",
        f"phone,name\r{N1},Ann\r{N2},Bob\r".encode(),
        code=2,
        stderr=file_error(
            "line 1 has a carriage return outside quotes: save the file with ordinary (LF or "
            "CRLF) line endings"
        ),
    ),
    bulk(
        "unclosed-quote",
        f'phone,name\n{N1},Ann\n{N2},"Bob\n{N3},Cy\n'.encode(),
        code=2,
        stderr=file_error(
            "line 3 opens a quote that is never closed: close it, and write a quote inside a "
            'quoted field as ""'
        ),
    ),
    bulk(
        "unclosed-quote-past-the-sample",
        lambda: (
            ("phone,name\n" + rows_of(*(f"2782{i:07d}" for i in range(1000, 1400)))).encode()
            + f'{N1},"Bob\n'.encode()
        ),
        code=2,
        stderr=file_error(
            "line 402 opens a quote that is never closed: close it, and write a quote inside a "
            'quoted field as ""'
        ),
    ),
    bulk(
        "text-after-closing-quote",
        f'phone,name\n{N1},Ann\n{N2},"Bob" Jr\n'.encode(),
        code=2,
        stderr=file_error(
            "line 3 has text after a closing quote: quote the whole field and write each quote "
            'inside it as ""'
        ),
    ),
    bulk(
        "quoted-newline-and-doubled-quotes-are-fine",
        f'phone,name\n{N1},"Ann\nLee"\n{N2},"Bob ""the"" builder"\n'.encode(),
        code=0,
        stderr=summary(2),
        sent=(N1, N2),
        texts=((N1, "Hi Ann\nLee"), (N2, 'Hi Bob "the" builder')),
    ),
    bulk("empty-file", b"", code=2, stderr=file_error("has no data rows")),
    bulk("only-blank-lines", b"\n \n\n", code=2, stderr=file_error("has no data rows")),
    bulk("only-a-bom", b"\xef\xbb\xbf", code=2, stderr=file_error("has no data rows")),
    bulk("header-only", b"phone,name\n", code=2, stderr=file_error("has no data rows")),
    bulk(
        "no-column-looks-like-numbers",
        b"name,city\nAnn,Paris\nBob,Rome\n",
        code=2,
        stderr=file_error(
            ": no column looks like phone numbers; pass --number-column with one of: name, city"
        ),
    ),
]

JUNK = [
    bulk(
        "field-over-1-mib-quoted",
        lambda: f'phone,name\n{N1},Ann\n{N2},"{"x" * (MIB + 10)}"\n{N3},Cy\n'.encode(),
        code=2,
        stderr=file_error(
            "line 3 has a field longer than 1 MiB: check it for a quote that is never closed"
        ),
    ),
    bulk(
        "field-over-1-mib-unquoted",
        lambda: f"phone,name\n{N1},Ann\n{N2},{'x' * (MIB + 10)}\n{N3},Cy\n".encode(),
        code=2,
        stderr=file_error(
            "line 3 has a field longer than 1 MiB: check it for a quote that is never closed"
        ),
    ),
    bulk(
        "line-over-8-mib",
        lambda: f"phone,name\n{N1},Ann\n{N2},{'x' * (9 * MIB)}\n".encode(),
        code=2,
        stderr=file_error("line 3 is longer than 8 MiB: is this a CSV file?"),
    ),
    bulk(
        "png-file",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10",
        code=2,
        stderr=file_error(
            "line 1 is not text (byte 0x89) and the file contains NUL bytes: is this a CSV file?"
        ),
    ),
    bulk(
        "every-byte-value",
        bytes(range(256)) * 4,
        code=2,
        stderr=file_error(
            "line 2 is not text (byte 0x80) and the file contains NUL bytes: is this a CSV file?"
        ),
    ),
    bulk(
        "invalid-utf-8-without-nul",
        b"phone,name\n\xff\xfe\xfd\xfc\n",
        code=2,
        stderr=file_error(
            "line 2 is not valid UTF-8 (byte 0xff): pass --encoding, e.g. --encoding cp1252"
        ),
    ),
    bulk(
        "nul-byte-in-a-cell",
        f"phone,name\n{N1},Ann\n{N2},B\x00b\n{N3},Cy\n".encode(),
        code=2,
        stderr=file_error("line 3 contains NUL bytes: is this a CSV file?"),
    ),
    bulk(
        "control-character-in-a-cell",
        f"phone,name\n{N1},A\x01nn\n{N2},Bob\n".encode(),
        code=6,
        stderr=summary(1, 1),
        sent=(N2,),
        rows=(
            (
                1,
                "invalid",
                lit(
                    "message text has control characters SOAP cannot carry: U+0001 at position "
                    "5; remove them"
                ),
            ),
        ),
    ),
]

FORMULAS = [
    Case(
        "formulas-reach-the-sms-and-are-neutralised-in-results",
        (
            "bulk",
            "{tmp}/in.csv",
            "-t",
            "{name}",
            "--number-column",
            "phone",
            "--results",
            "{tmp}/results.csv",
            "-o",
            "json",
        ),
        6,
        summary(2, 3),
        files=(
            (
                "in.csv",
                f'phone,name\n{N1},"{FORMULA}"\n"{FORMULA}",Bob\n@SUM(1+1)*cmd|x,Cy\n'
                f"{N2},+1+1\n-2+3,Dee\n".encode(),
            ),
        ),
        sent=(N1, N2),
        rows=(
            (2, "invalid", NOT_A_NUMBER),
            (3, "invalid", NOT_A_NUMBER),
            (5, "invalid", NOT_A_NUMBER),
        ),
        texts=((N1, FORMULA), (N2, "+1+1")),
        results=((2, "to", "'" + FORMULA), (3, "to", "'@SUM(1+1)*cmd|x"), (5, "to", "'-2+3")),
    ),
]

ROWS = [
    bulk(
        "duplicate-numbers-in-other-shapes",
        f"phone,name\n{N1},Ann\n{N2},Bob\n+27 82 100 0001,A2\n0821000002,B2\n".encode(),
        flags=("--country", "ZA"),
        code=6,
        stderr=summary(2, 2),
        sent=(N1, N2),
        rows=(
            (3, "duplicate", lit("same number as row 1")),
            (4, "duplicate", lit("same number as row 2")),
        ),
    ),
    bulk(
        "invalid-numbers-mixed-with-valid",
        f"phone,name\n{N1},Ann\n123,Bob\n{N2},Cy\n+99912345678,Dee\n0821000003,Eve\n"
        f"{N3},Fay\nabc,Gus\n{N4},Hal\n".encode(),
        code=6,
        stderr=summary(4, 4),
        sent=(N1, N2, N3, N4),
        rows=(
            (2, "invalid", lit("invalid number: too short")),
            (4, "invalid", lit("invalid number: unknown country calling code")),
            (5, "invalid", NO_COUNTRY),
            (7, "invalid", NOT_A_NUMBER),
        ),
    ),
    bulk(
        "every-number-invalid",
        b"phone,name\n123,Ann\nabc,Bob\n",
        flags=("--number-column", "phone"),
        code=4,
        stderr=summary(0, 2),
        rows=(
            (1, "invalid", lit("invalid number: too short")),
            (2, "invalid", NOT_A_NUMBER),
        ),
    ),
    bulk(
        "number-column-is-a-text-column",
        TWO,
        flags=("--number-column", "name"),
        code=4,
        stderr=summary(0, 2),
        rows=((1, "invalid", NOT_A_NUMBER), (2, "invalid", NOT_A_NUMBER)),
    ),
    bulk(
        "template-column-blank-in-some-rows",
        f"phone,name\n{N1},Ann\n{N2},\n{N3}, \n".encode(),
        template="{name}",
        code=6,
        stderr=summary(1, 2),
        sent=(N1,),
        rows=(
            (2, "invalid", lit("message is empty: the template's columns are blank in this row")),
            (3, "invalid", lit("message is empty: the template's columns are blank in this row")),
        ),
    ),
    bulk(
        "cell-not-gsm-with-unicode-never",
        f"phone,name\n{N1},Ann\n{N2},Жора\n".encode(),
        flags=("--unicode", "never"),
        code=6,
        stderr=summary(1, 1),
        sent=(N1,),
        rows=(
            (
                2,
                "invalid",
                lit(
                    "--unicode never, but the text has characters that are not in the GSM "
                    "alphabet: 'Ж' at position 4, 'о' at position 5, 'р' at position 6, 'а' at "
                    "position 7; replace them, or drop --unicode never to send the text as UCS-2"
                ),
            ),
        ),
    ),
    bulk(
        "cell-over-max-parts",
        f"phone,name\n{N1},Ann\n{N2},{'y' * 200}\n".encode(),
        flags=("--max-parts", "1"),
        code=6,
        stderr=summary(1, 1),
        sent=(N1,),
        rows=(
            (
                2,
                "invalid",
                lit(
                    "message needs 2 SMS parts (203 septets, GSM-7) but --max-parts is 1: "
                    "shorten it or raise --max-parts"
                ),
            ),
        ),
    ),
    bulk(
        "cell-over-35-parts",
        f"phone,name\n{N1},Ann\n{N2},{'y' * 153 * 35}\n".encode(),
        code=6,
        stderr=summary(1, 1),
        sent=(N1,),
        rows=((2, "invalid", lit("message needs 36 SMS parts; Clickatell allows at most 35")),),
    ),
]

BULK_FLAGS = [
    bulk(
        "number-column-unknown-name",
        TWO,
        flags=("--number-column", "email"),
        code=2,
        stderr=error(
            "--number-column 'email' is not a column of {tmp}/in.csv: use one of phone, name, or "
            "a column number from 1 to 2"
        ),
    ),
    bulk(
        "number-column-out-of-range",
        TWO,
        flags=("--number-column", "5"),
        code=2,
        stderr=error("--number-column 5 is out of range: {tmp}/in.csv has 2 columns (phone, name)"),
    ),
    bulk(
        "number-column-zero",
        TWO,
        flags=("--number-column", "0"),
        code=2,
        stderr=error("--number-column 0 is out of range: {tmp}/in.csv has 2 columns (phone, name)"),
    ),
    bulk(
        "number-column-name-in-headerless-file",
        f"{N1},Ann\n{N2},Bob\n".encode(),
        flags=("--number-column", "phone"),
        code=2,
        stderr=error(
            "--number-column 'phone' is not a column of {tmp}/in.csv: it has no header row, so "
            "give a column number from 1 to 2"
        ),
    ),
    bulk(
        "unknown-placeholder",
        TWO,
        template="Hi {nmae}",
        code=2,
        stderr=error(
            "unknown placeholder {nmae} in the template: the columns are {phone}, {name} (write "
            "{{ and }} for literal braces)"
        ),
    ),
    bulk(
        "placeholder-by-name-in-headerless-file",
        f"{N1},Ann\n{N2},Bob\n".encode(),
        code=2,
        stderr=error(
            "unknown placeholder {name} in the template: the columns are {1}, {2} (write {{ and "
            "}} for literal braces)"
        ),
    ),
    bulk(
        "unclosed-brace-in-template",
        TWO,
        template="Hi {name",
        code=2,
        stderr=error("unclosed { at position 4 in the template; write {{ for a literal {"),
    ),
    bulk(
        "whitespace-only-template",
        TWO,
        template=" \t ",
        code=2,
        stderr=error("--text is empty: give the message to send"),
    ),
    bulk(
        "rate-infinite",
        TWO,
        flags=("--rate", "inf"),
        code=2,
        stderr=error("--rate inf: use 0 (no limit) or at least 1 per second"),
    ),
    bulk(
        "rate-below-one",
        TWO,
        flags=("--rate", "0.5"),
        code=2,
        stderr=error("--rate 0.5: use 0 (no limit) or at least 1 per second"),
    ),
    bulk(
        "rate-not-a-number",
        TWO,
        flags=("--rate", "fast"),
        code=2,
        stderr=error("--rate fast: use a number of at least 0 (see `clicksms bulk --help`)"),
    ),
    bulk(
        "concurrency-zero",
        TWO,
        flags=("--concurrency", "0"),
        code=2,
        stderr=error(
            "--concurrency 0: use a whole number from 1 to 128 (see `clicksms bulk --help`)"
        ),
    ),
    bulk(
        "concurrency-too-high",
        TWO,
        flags=("--concurrency", "129"),
        code=2,
        stderr=error(
            "--concurrency 129: use a whole number from 1 to 128 (see `clicksms bulk --help`)"
        ),
    ),
    Case(
        "output-format-unknown",
        ("bulk", "{tmp}/in.csv", "-t", "x", "-o", "xml"),
        2,
        error("--output xml: use table, json, jsonl or csv (see `clicksms bulk --help`)"),
        files=(("in.csv", TWO),),
    ),
    bulk(
        "on-limit-unknown",
        TWO,
        flags=("--on-limit", "retry"),
        code=2,
        stderr=error("--on-limit retry: use stop or wait (see `clicksms bulk --help`)"),
    ),
    bulk(
        "results-is-the-input-file",
        TWO,
        flags=("--results", "{tmp}/in.csv"),
        code=2,
        stderr=error("--results {tmp}/in.csv is the input file: choose another name"),
    ),
    bulk(
        "results-in-a-missing-directory",
        TWO,
        flags=("--results", "{tmp}/no/such/dir/r.csv"),
        code=2,
        stderr=error("cannot write --results {tmp}/no/such/dir/r.csv: No such file or directory"),
    ),
    bulk(
        "unknown-bulk-flag",
        TWO,
        flags=("--dryrun",),
        code=2,
        stderr=error(
            "No such option: --dryrun (Possible options: --dry-run) (see `clicksms bulk --help`)"
        ),
    ),
    Case(
        "template-file-empty",
        ("bulk", "{tmp}/in.csv", "--template-file", "{tmp}/t.txt"),
        2,
        error("--template-file {tmp}/t.txt is empty: write the message in it"),
        files=(("in.csv", TWO), ("t.txt", b"\n")),
    ),
    Case(
        "template-file-not-utf-8",
        ("bulk", "{tmp}/in.csv", "--template-file", "{tmp}/t.txt"),
        2,
        error(
            "--template-file {tmp}/t.txt is not valid UTF-8 (byte 0xe9 on line 1): save it as UTF-8"
        ),
        files=(("in.csv", TWO), ("t.txt", "Hi Jos\xe9 {name}".encode("latin-1"))),
    ),
    Case(
        "csv-path-is-a-directory",
        ("bulk", "{tmp}", "-t", "x"),
        2,
        error("{tmp} is a directory, not a CSV file"),
    ),
]

# --- numbers -------------------------------------------------------------------------------

UNKNOWN_CODE = lit("invalid number: unknown country calling code")
BAD_NUMBERS = [
    ("letters", "abcdefgh", NOT_A_NUMBER),
    ("too-short", "2782", lit("invalid number: too short for ZA")),
    ("too-long", "27821234567890123", lit("invalid number: too long for ZA")),
    ("plus-in-the-middle", "2782+1234567", NOT_A_NUMBER),
    ("national-without-country", "0821234567", NO_COUNTRY),
    ("unknown-country-code", "+99912345678", UNKNOWN_CODE),
    ("plus-then-trunk-zero", "+0821234567", UNKNOWN_CODE),
    ("vanity-letters", "1-800-FLOWERS", NOT_A_NUMBER),
    ("one-digit-too-many", "27 82 123 4567 8", lit("invalid number: not a valid number for ZA")),
]


def _send_number(id: str, raw: str, reason: str) -> Case:
    return Case(
        f"send-{id}",
        ("send", raw, "-t", "hi", "-o", "json"),
        4,
        None,  # with -o json the rows are the report; there is no summary line
        rows=((1, "invalid", reason),),
    )


def _validate_number(id: str, raw: str, reason: str) -> Case:
    return Case(
        f"validate-{id}",
        ("validate-number", raw, "-o", "json"),
        4,
        None,
        rows=((1, "invalid", reason.removeprefix(re.escape("invalid number: "))),),
    )


NUMBERS = [
    *(_send_number(id, raw, reason) for id, raw, reason in BAD_NUMBERS),
    *(_validate_number(id, raw, reason) for id, raw, reason in BAD_NUMBERS),
    Case(
        "validate-empty",
        ("validate-number", "", "-o", "json"),
        4,
        None,
        rows=((1, "invalid", lit("empty number")),),
    ),
    Case(
        "validate-whitespace",
        ("validate-number", " \t ", "-o", "json"),
        4,
        None,
        rows=((1, "invalid", lit("empty number")),),
    ),
    Case(
        "validate-nothing-on-stdin",
        ("validate-number", "-o", "json"),
        2,
        error("no numbers on stdin"),
        stdin="\n \n",
    ),
    Case(
        "send-whitespace-number",
        ("send", "   ", "-t", "hi"),
        2,
        error("no recipients: give at least one phone number"),
    ),
    Case(
        "send-invalid-and-valid-numbers",
        ("send", "0821234567", NUMBER, "2782", "-t", "hi", "-o", "json"),
        6,
        None,
        sent=(NUMBER,),
        rows=((1, "invalid", NO_COUNTRY), (3, "invalid", lit("invalid number: too short for ZA"))),
    ),
    Case(
        "send-unknown-country-flag",
        ("send", "0821234567", "-t", "hi", "--country", "ZZ"),
        2,
        error(
            "unknown country 'ZZ' (--country or CLICKSMS_COUNTRY): use a two-letter region code "
            "such as ZA or GB"
        ),
    ),
    Case(
        "send-unknown-country-environment",
        ("send", "0821234567", "-t", "hi"),
        2,
        error(
            "unknown country 'Z1' (--country or CLICKSMS_COUNTRY): use a two-letter region code "
            "such as ZA or GB"
        ),
        env=(("CLICKSMS_COUNTRY", "Z1"),),
    ),
]

# --- texts ---------------------------------------------------------------------------------

EMPTY_TEXT = error("message text is empty: pass --text or pipe the text on stdin")

TEXTS = [
    Case("text-empty", ("send", NUMBER, "-t", ""), 2, EMPTY_TEXT),
    Case("text-whitespace-only", ("send", NUMBER, "-t", " \u00a0\t\n "), 2, EMPTY_TEXT),
    Case("text-empty-stdin-dash", ("send", NUMBER, "-t", "-"), 2, EMPTY_TEXT, stdin="\r\n"),
    Case(
        "text-36-gsm-parts",
        ("send", NUMBER, "-t", "x" * (153 * 35 + 1)),
        2,
        error("message needs 36 SMS parts; Clickatell allows at most 35"),
    ),
    Case(
        "text-36-ucs2-parts",
        ("send", NUMBER, "-t", "ж" * (67 * 35 + 1)),
        2,
        error("message needs 36 SMS parts; Clickatell allows at most 35"),
    ),
    Case(
        "text-36-parts-of-extension-characters",
        ("send", NUMBER, "-t", "€" * (153 * 35 // 2 + 1)),
        2,
        error("message needs 36 SMS parts; Clickatell allows at most 35"),
    ),
    Case(
        "text-over-max-parts-ucs2",
        ("send", NUMBER, "-t", "ж" * 71, "--max-parts", "1"),
        2,
        error(
            "message needs 2 SMS parts (71 UTF-16 units, UCS-2) but --max-parts is 1: shorten "
            "it or raise --max-parts"
        ),
    ),
    Case(
        "text-unicode-never-emoji",
        ("send", NUMBER, "-t", "ok 😀", "--unicode", "never"),
        2,
        error(
            "--unicode never, but the text has characters that are not in the GSM alphabet: "
            "'😀' at position 4; replace them, or drop --unicode never to send the text as UCS-2"
        ),
    ),
    Case(
        "text-unicode-never-cyrillic-with-gsm-euro",
        ("send", NUMBER, "-t", "Да €", "--unicode", "never"),
        2,
        error(
            "--unicode never, but the text has characters that are not in the GSM alphabet: "
            "'Д' at position 1, 'а' at position 2; replace them, or drop --unicode never to send "
            "the text as UCS-2"
        ),
    ),
]

# --- --udh / --data ------------------------------------------------------------------------

HEX = [
    Case(
        "udh-odd-length",
        ("send", NUMBER, "--udh", "0605040B8423F", "--data", "48656C6C6F"),
        2,
        error("--udh has 13 hex digits; octets need an even number of them"),
    ),
    Case(
        "udh-not-hex",
        ("send", NUMBER, "--udh", "06:05:04:0B:84:2X:F0", "--data", "48"),
        2,
        error("--udh is not hex: 'X' is not one of 0-9 and A-F"),
    ),
    Case(
        "data-odd-length-with-separators",
        ("send", NUMBER, "--data", "48 65 6C 6"),
        2,
        error("--data has 7 hex digits; octets need an even number of them"),
    ),
    Case(
        "data-0x-inside",
        ("send", NUMBER, "--data", "48 0x65"),
        2,
        error("--data is not hex: 'x' is not one of 0-9 and A-F"),
    ),
    Case(
        "udh-length-byte-too-big",
        ("send", NUMBER, "--udh", "0705040B8423F0", "--data", "48656C6C6F"),
        2,
        error(
            "--udh length byte says 7 octets follow but 6 do: the first octet (UDHL) counts the "
            "octets after it"
        ),
    ),
    Case(
        "udh-length-byte-too-small",
        ("send", NUMBER, "--udh", "0405040B8423F0", "--data", "48"),
        2,
        error(
            "--udh length byte says 4 octets follow but 6 do: the first octet (UDHL) counts the "
            "octets after it"
        ),
    ),
    Case(
        "udh-plus-data-over-140-octets",
        ("send", NUMBER, "--udh", "0605040B8423F0", "--data", "00" * 134),
        2,
        error("binary message is 141 octets (UDH 7 + data 134); one SMS carries at most 140"),
    ),
    Case(
        "udh-empty",
        ("send", NUMBER, "--udh", "", "--data", "48"),
        2,
        error("--udh is empty: give hex octets, e.g. 050003CC0201"),
    ),
    Case(
        "udh-only-separators",
        ("send", NUMBER, "--udh", " : ", "--data", "48"),
        2,
        error("--udh is empty: give hex octets, e.g. 050003CC0201"),
    ),
]

# --- scheduling ----------------------------------------------------------------------------


def _when(id: str, flag: str, value: str, message: str) -> Case:
    return Case(id, ("send", NUMBER, "-t", "hi", flag, value), 2, error(message))


DATES = [
    _when(
        "deliver-at-february-30",
        "--deliver-at",
        "2030-02-30T09:00",
        "--deliver-at '2030-02-30T09:00' does not exist: day is out of range for month",
    ),
    _when(
        "deliver-at-hour-25-in-a-date",
        "--deliver-at",
        "2030-01-10T25:00",
        "--deliver-at '2030-01-10T25:00' does not exist: hour must be in 0..23",
    ),
    _when(
        "deliver-at-25-00",
        "--deliver-at",
        "25:00",
        "--deliver-at '25:00' is not a time of day",
    ),
    _when(
        "deliver-at-minute-60",
        "--deliver-at",
        "12:60",
        "--deliver-at '12:60' is not a time of day",
    ),
    _when(
        "deliver-at-past",
        "--deliver-at",
        "2001-09-09T01:46Z",
        "--deliver-at 2001-09-09T01:46Z is in the past",
    ),
    _when(
        "deliver-at-too-far",
        "--deliver-at",
        "2999-01-01T00:00+02:00",
        "--deliver-at 2999-01-01T00:00+02:00 is more than 7 days ahead; Clickatell schedules up "
        "to 7 days",
    ),
    _when(
        "deliver-at-bad-offset",
        "--deliver-at",
        "2030-01-10T09:00+25:00",
        "--deliver-at '2030-01-10T09:00+25:00' is not a time: use 2026-11-26T09:00 (local), "
        "2026-11-26T07:00Z, or 09:00",
    ),
    _when(
        "deliver-at-empty",
        "--deliver-at",
        "",
        "--deliver-at '' is not a time: use 2026-11-26T09:00 (local), 2026-11-26T07:00Z, or 09:00",
    ),
    _when(
        "deliver-in-negative",
        "--deliver-in",
        "-5m",
        "--deliver-in '-5m' is not a duration: use minutes (90) or units like 90m, 2h, 1d, 1h30m",
    ),
    _when(
        "deliver-in-fraction",
        "--deliver-in",
        "1.5h",
        "--deliver-in '1.5h' is not a duration: use minutes (90) or units like 90m, 2h, 1d, 1h30m",
    ),
    _when(
        "deliver-in-minutes-over-7-days",
        "--deliver-in",
        "10081",
        "--deliver-in 10081 is more than 7 days ahead; Clickatell schedules up to 7 days",
    ),
    _when(
        "deliver-in-huge",
        "--deliver-in",
        "9" * 30,
        f"--deliver-in {'9' * 30} is more than 7 days ahead; Clickatell schedules up to 7 days",
    ),
    _when(
        "validity-zero",
        "--validity",
        "0m",
        "--validity must be at least one minute, got '0m'",
    ),
    _when(
        "validity-two-days",
        "--validity",
        "2d",
        "--validity 2d is longer than Clickatell's 24 hours (1440 min)",
    ),
    _when(
        "validity-seconds",
        "--validity",
        "30s",
        "--validity '30s' is not a duration: use minutes (90) or units like 90m, 2h, 1d, 1h30m",
    ),
]

# --- credentials and endpoint --------------------------------------------------------------

AUTH_FAILED = error("authentication failed: check api_id, user and password (ERR 001)")
SEND_HI = ("send", NUMBER, "-t", "hi")

CREDENTIALS = [
    Case(
        "no-api-id",
        SEND_HI,
        3,
        error("no API ID: set CLICKSMS_API_ID (environment or .env) or pass --api-id"),
        env=(("CLICKSMS_API_ID", None),),
    ),
    Case(
        "no-user",
        SEND_HI,
        3,
        error("no user name: set CLICKSMS_USER (environment or .env) or pass --user"),
        env=(("CLICKSMS_USER", None),),
    ),
    Case(
        "no-password",
        SEND_HI,
        3,
        error(
            "no password: set CLICKSMS_PASSWORD (environment or .env), pipe it to `clicksms auth "
            "--password-stdin`, or run `clicksms auth` on a terminal"
        ),
        env=(("CLICKSMS_PASSWORD", None),),
    ),
    Case("wrong-password", SEND_HI, 3, AUTH_FAILED, env=(("CLICKSMS_PASSWORD", "wrong"),)),
    Case("unknown-user", SEND_HI, 3, AUTH_FAILED, env=(("CLICKSMS_USER", "nobody"),)),
    Case(
        "wrong-api-id",
        SEND_HI,
        3,
        error("invalid or missing API ID (ERR 108)"),
        env=(("CLICKSMS_API_ID", "999"),),
    ),
    Case(
        "api-id-not-a-number",
        ("--api-id", "35x", *SEND_HI),
        2,
        error("api_id must be a number, got '35x' (CLICKSMS_API_ID or --api-id)"),
    ),
    Case("balance-wrong-password", ("balance",), 3, AUTH_FAILED, env=(("CLICKSMS_PASSWORD", "x"),)),
    bulk(
        "bulk-wrong-password",
        TWO,
        code=3,
        stderr=AUTH_FAILED,
        env=(("CLICKSMS_PASSWORD", "wrong"),),
    ),
    Case(
        "endpoint-not-http",
        ("--endpoint", "ftp://127.0.0.1/soap", *SEND_HI),
        2,
        error("endpoint must be an http(s) URL, got 'ftp://127.0.0.1/soap'"),
    ),
    Case(
        "endpoint-without-host",
        ("--endpoint", "https://", *SEND_HI),
        2,
        error("endpoint must be an http(s) URL, got 'https://'"),
    ),
    Case(
        "endpoint-plain-http-off-loopback",
        ("--endpoint", "http://sms.example.com/soap", *SEND_HI),
        2,
        error(
            "refusing plain http:// to sms.example.com: the password would travel unencrypted; "
            "use https:// or pass --allow-insecure-http"
        ),
    ),
    Case(
        "endpoint-unclosed-ipv6-host",
        ("--endpoint", "http://[::1", *SEND_HI),
        2,
        error("endpoint is not a valid URL: 'http://[::1'"),
    ),
    Case(
        "endpoint-bad-ipv6-host",
        SEND_HI,
        2,
        error("endpoint is not a valid URL: 'https://[zz]/soap'"),
        env=(("CLICKSMS_ENDPOINT", "https://[zz]/soap"),),
    ),
    *(
        Case(
            f"endpoint-ipv6-{i}",
            ("--endpoint", url, *SEND_HI),
            2,
            error(f"endpoint is not a valid URL: {url!r}"),
        )
        for i, url in enumerate(("http://[::1]8080/soap", "http://[::1]]:8080/soap"))
    ),
    Case(
        "endpoint-port-zero",
        ("--endpoint", "http://127.0.0.1:0/soap", *SEND_HI),
        2,
        error("endpoint has an invalid port: 127.0.0.1:0"),
    ),
    Case(
        "endpoint-asking-for-the-wsdl",
        ("--endpoint", "https://api.example.com/soap?wsdl", *SEND_HI),
        2,
        error(
            "endpoint must be the service's URL, with no ?query or #fragment (clicksms never "
            "asks for ?wsdl: the WSDL comes with it), got 'https://api.example.com/soap?wsdl'"
        ),
    ),
    Case(
        "endpoint-from-environment-not-a-url",
        SEND_HI,
        2,
        error("endpoint must be an http(s) URL, got 'localhost'"),
        env=(("CLICKSMS_ENDPOINT", "localhost"),),
    ),
    Case(
        "endpoint-nothing-listening",
        ("--endpoint", "http://127.0.0.1:{closed}/soap", *SEND_HI),
        5,
        error("cannot connect to 127.0.0.1:{closed}: connection refused") + r"( \(.*\))?",
        env=(("CLICKSMS_RETRY_DELAY", "0"),),
    ),
]

# --- flags and commands --------------------------------------------------------------------

FLAGS = [
    *(
        Case(
            f"sandbox-{flag[2:]}-{value}",
            ("sandbox", "--port", "0", flag, value),
            2,
            error(f"{flag} {value}: give a number"),
        )
        for flag, value in (
            ("--credits", "nan"),
            ("--latency", "nan"),
            ("--session-timeout", "inf"),
            ("--delivery-seconds", "nan"),
        )
    ),
    Case(
        "unknown-command",
        ("sendd", NUMBER),
        2,
        error("No such command 'sendd'. Did you mean 'send'? (see `clicksms --help`)"),
    ),
    Case(
        "unknown-command-far-off",
        ("frobnicate",),
        2,
        error("No such command 'frobnicate'. (see `clicksms --help`)"),
    ),
    Case(
        "unknown-global-flag",
        ("--verbose", *SEND_HI),
        2,
        error("No such option: --verbose (Possible options: --version) (see `clicksms --help`)"),
    ),
    Case(
        "unknown-validate-flag",
        ("validate-number", NUMBER, "--region", "ZA"),
        2,
        error("No such option: --region (see `clicksms validate-number --help`)"),
    ),
    Case(
        "text-flag-without-value",
        ("send", NUMBER, "-t"),
        2,
        error("-t needs a value"),
    ),
    Case(
        "send-output-unknown",
        (*SEND_HI, "-o", "yaml"),
        2,
        error("--output yaml: use table, json, jsonl or csv (see `clicksms send --help`)"),
    ),
    Case(
        "send-unicode-unknown",
        (*SEND_HI, "--unicode", "maybe"),
        2,
        error("--unicode maybe: use auto, always or never (see `clicksms send --help`)"),
    ),
    Case(
        "send-max-parts-zero",
        (*SEND_HI, "--max-parts", "0"),
        2,
        error("--max-parts 0: use a whole number from 1 to 35 (see `clicksms send --help`)"),
    ),
    Case(
        "send-sender-too-long",
        (*SEND_HI, "--from", "ThisSenderIsTooLong"),
        2,
        error(
            "invalid sender 'ThisSenderIsTooLong': use up to 16 digits or up to 11 letters and "
            "digits"
        ),
    ),
]

CASES = [
    *ENCODINGS,
    *SHAPES,
    *JUNK,
    *FORMULAS,
    *ROWS,
    *BULK_FLAGS,
    *NUMBERS,
    *TEXTS,
    *HEX,
    *DATES,
    *CREDENTIALS,
    *FLAGS,
]


def test_the_corpus_is_big_and_every_id_names_one_case() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) >= 60
    assert [i for i, n in Counter(ids).items() if n > 1] == []


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_bad_input(case: Case, cli, creds, tmp_path: Path, monkeypatch) -> None:
    port = str(closed_port()) if any("{closed}" in a for a in case.args) else ""
    for name, data in case.files:
        (tmp_path / name).write_bytes(data() if callable(data) else data)
    for key, value in case.env:
        if value is None:
            monkeypatch.delenv(key)
        else:
            monkeypatch.setenv(key, value)
    args = [arg.replace("{tmp}", str(tmp_path)).replace("{closed}", port) for arg in case.args]

    run = cli(*args, input=case.stdin)

    assert run.exit_code == case.code, run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    _check_stderr(case, run.stderr, tmp_path, port)
    items = json.loads(run.stdout) if run.stdout.strip() and "json" in args else []
    _check_rows(case, items)
    sent = Counter(message["to"] for message in creds.ledger)
    assert sent == Counter(case.sent), "each valid number exactly once, nothing else"
    if not case.sent:
        assert sent_ops(creds, "sendmsg") == []
    for number, text in case.texts:
        assert [m["text"] for m in creds.ledger if m["to"] == number] == [text]
    if case.results:
        with open(tmp_path / "results.csv", newline="", encoding="utf-8") as handle:
            written = {int(row["row"]): row for row in csv.DictReader(handle)}
        for row, column, value in case.results:
            assert written[row][column] == value


def _check_stderr(case: Case, stderr: str, tmp_path: Path, port: str) -> None:
    """The expected last line; before it, only the notes bulk documents; one error at most."""
    lines = stderr.strip().splitlines()
    if case.stderr is None:
        assert lines == []
        return
    pattern = case.stderr.replace(r"\{tmp\}", re.escape(str(tmp_path)))
    pattern = pattern.replace(r"\{closed\}", port)
    assert lines and re.fullmatch(pattern, lines[-1]), stderr
    for line in lines[:-1]:
        assert any(info.fullmatch(line) for info in INFO), line
    errors = 1 if case.code in (1, 2, 3, 5) else 0  # 4 and 6 report rows, not an error
    assert sum(line.startswith("Error:") for line in lines) == errors


def _check_rows(case: Case, items: list[dict]) -> None:
    """Rows not sent, by row number (bulk) or position (send, validate-number)."""
    failed = {}
    for position, item in enumerate(items, 1):
        ok = item.get("ok", item.get("valid"))
        if not ok:
            status = item.get("status", "invalid")
            failed[item.get("row", position)] = (status, item["error"])
        elif "status" in item:
            assert item["status"] == "accepted"
    assert sorted(failed) == [row for row, _, _ in case.rows], failed
    for row, status, reason in case.rows:
        assert failed[row][0] == status
        assert re.fullmatch(reason, failed[row][1]), failed[row][1]
    accepted = {item["to"] for item in items if item.get("status") == "accepted"}
    assert accepted == set(case.sent)
