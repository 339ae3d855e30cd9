"""Tests for clicksms.bulk.template: parsing, escapes, column checks, rendering and loading."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from clicksms.bulk.template import MissingColumn, Template, load_template
from clicksms.errors import UsageError


@pytest.mark.parametrize(
    ("text", "fields", "values", "expected"),
    [
        ("Hello", (), {}, "Hello"),
        ("Hi {name}!", ("name",), {"name": "Bob"}, "Hi Bob!"),
        ("{a}{b}{a}", ("a", "b"), {"a": "1", "b": "2"}, "121"),
        (
            "{ first name }: {code}",
            ("first name", "code"),
            {"first name": "Jo", "code": "7"},
            "Jo: 7",
        ),
        ("{{literal}} {x}", ("x",), {"x": "v"}, "{literal} v"),
        ("{{{x}}}", ("x",), {"x": "v"}, "{v}"),
        ("}} and {{", (), {}, "} and {"),
        (
            "{a:b} {c!r} {d.e} {f[0]}",
            ("a:b", "c!r", "d.e", "f[0]"),
            {"a:b": "1", "c!r": "2", "d.e": "3", "f[0]": "4"},
            "1 2 3 4",
        ),
        ("{x}", ("x",), {"x": "{y} and {0}"}, "{y} and {0}"),
        ("Привет, {имя} 😀", ("имя",), {"имя": "Оля"}, "Привет, Оля 😀"),
        ("{1} {2}", ("1", "2"), {"1": "a", "2": "b"}, "a b"),
    ],
)
def test_parse_and_render(text: str, fields: tuple[str, ...], values: dict, expected: str) -> None:
    template = Template(text)
    assert template.text == text
    assert template.fields == fields
    assert template.is_static is (not fields)
    assert template.render(values) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Hello {name", "unclosed { at position 7 in the template; write {{ for a literal {"),
        ("{a{b}", "unclosed { at position 1 in the template; write {{ for a literal {"),
        ("{", "unclosed { at position 1 in the template; write {{ for a literal {"),
        ("Hi name}", "single } at position 8 in the template; write }} for a literal }"),
        ("{x}}", "single } at position 4 in the template; write }} for a literal }"),
        (
            "Hi {} there",
            "empty {} at position 4 in the template: put a column name inside, or write {{}} "
            "for literal braces",
        ),
        (
            "{   }",
            "empty {} at position 1 in the template: put a column name inside, or write {{}} "
            "for literal braces",
        ),
    ],
)
def test_malformed_braces(text: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        Template(text)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("text", "columns", "row", "expected"),
    [
        ("Hi {name}", ("name", "phone"), ("Bob", "2782"), "Hi Bob"),
        ("Hi {NAME}", ("name", "phone"), ("Bob", "2782"), "Hi Bob"),
        ("Hi {Name}", ("Name", "name"), ("A", "B"), "Hi A"),
        ("Hi {name}", ("Name", "name"), ("A", "B"), "Hi B"),
        ("{2} {1}", ("1", "2"), ("a", "b"), "b a"),
        ("{2}", ("name", "phone"), ("Bob", "2782"), "2782"),
        ("{x}{{}}{x}", ("x",), ("v",), "v{}v"),
        ("same for all", ("phone",), ("2782",), "same for all"),
    ],
)
def test_check_then_render(
    text: str, columns: tuple[str, ...], row: tuple[str, ...], expected: str
) -> None:
    template = Template(text)
    template.check(columns)
    assert template.render_row(row) == expected
    assert template.render(dict(zip(columns, row, strict=True))) == expected


@pytest.mark.parametrize(
    ("text", "columns", "message"),
    [
        (
            "Hi {nmae}",
            ("name", "phone"),
            "unknown placeholder {nmae} in the template: the columns are {name}, {phone} "
            "(write {{ and }} for literal braces)",
        ),
        (
            "{a} {name} {b} {a}",
            ("name",),
            "unknown placeholders {a}, {b} in the template: the columns are {name} "
            "(write {{ and }} for literal braces)",
        ),
        (
            "{4}",
            ("1", "2", "3"),
            "unknown placeholder {4} in the template: the columns are {1}, {2}, {3} "
            "(write {{ and }} for literal braces)",
        ),
        ("{x}", (), "unknown placeholder {x} in the template: the file has no columns"),
    ],
)
def test_check_names_every_unknown_placeholder(
    text: str, columns: tuple[str, ...], message: str
) -> None:
    with pytest.raises(UsageError) as caught:
        Template(text).check(columns)
    assert str(caught.value) == message


def test_check_lists_many_columns_briefly() -> None:
    columns = tuple(f"c{i}" for i in range(30))
    with pytest.raises(UsageError, match=r"\{c19\}, … \(30 in all\)"):
        Template("{zz}").check(columns)


def test_missing_values() -> None:
    template = Template("{name} {city}")
    with pytest.raises(MissingColumn) as caught:
        template.render({"name": "Bob"})
    assert caught.value.column == "city"
    template.check(("name", "phone", "city"))
    with pytest.raises(MissingColumn) as caught:
        template.render_row(("Bob", "2782"))
    assert caught.value.column == "city"
    assert template.render_row(("Bob", "2782", "Rome", "extra")) == "Bob Rome"


def test_render_ignores_case_without_check() -> None:
    assert Template("{NAME}").render({"name": "Bob"}) == "Bob"


def test_render_row_needs_check() -> None:
    with pytest.raises(RuntimeError):
        Template("{x}").render_row(("v",))


# --- load_template ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"Hi {name}\n", "Hi {name}"),
        (b"Hi {name}\r\n", "Hi {name}"),
        (b"two lines\n\n", "two lines\n"),
        (b"\xef\xbb\xbfHi\n", "Hi"),
        ("Grüße {x}".encode(), "Grüße {x}"),
        (b"no newline", "no newline"),
    ],
)
def test_load_template_file(tmp_path: Path, data: bytes, expected: str) -> None:
    path = tmp_path / "msg.txt"
    path.write_bytes(data)
    assert load_template(None, str(path)).text == expected


def test_load_template_text() -> None:
    template = load_template("Hi {name}\n", None)
    assert template.text == "Hi {name}\n"  # --text is taken as given
    assert template.fields == ("name",)


@pytest.mark.parametrize(
    ("text", "file_data", "message"),
    [
        ("x", b"y", "use either --text or --template-file, not both"),
        (None, None, "no message: give --text TEMPLATE or --template-file FILE"),
        ("", None, "--text is empty: give the message to send"),
        (" \n", None, "--text is empty: give the message to send"),
        (None, b"\n", "--template-file {path} is empty: write the message in it"),
        (None, b"", "--template-file {path} is empty: write the message in it"),
        (
            None,
            b"line one\nR\xe9sum\xe9\n",
            "--template-file {path} is not valid UTF-8 (byte 0xe9 on line 2): save it as UTF-8",
        ),
        (
            None,
            b"x" * 70_000,
            "--template-file {path} is larger than 64 KiB: is it the right file?",
        ),
        (None, b"{oops", "unclosed { at position 1 in the template; write {{ for a literal {"),
    ],
)
def test_load_template_errors(
    tmp_path: Path, text: str | None, file_data: bytes | None, message: str
) -> None:
    path = tmp_path / "msg.txt"
    if file_data is not None:
        path.write_bytes(file_data)
    with pytest.raises(UsageError) as caught:
        load_template(text, str(path) if file_data is not None else None)
    assert str(caught.value) == message.replace("{path}", str(path))


def test_load_template_file_problems(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    with pytest.raises(UsageError) as caught:
        load_template(None, str(missing))
    assert str(caught.value) == f"--template-file {missing}: no such file"
    with pytest.raises(UsageError) as caught:
        load_template(None, str(tmp_path))
    assert str(caught.value) == f"--template-file {tmp_path} is a directory, not a file"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read anything")
def test_load_template_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "msg.txt"
    path.write_text("hi")
    path.chmod(0)
    with pytest.raises(UsageError, match=r"cannot be read: permission denied$"):
        load_template(None, str(path))
