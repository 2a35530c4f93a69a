"""The ``pages`` option: parsed into merged ranges, never into a list of every page."""

from __future__ import annotations

import pytest

from pagewire.extract.pages import MAX_RANGES, MAX_SPEC_CHARS, InvalidPages, PageSelection


def parse(spec: str, max_page: int = 5000) -> PageSelection:
    return PageSelection.parse(spec, max_page=max_page)


@pytest.mark.parametrize(
    ("spec", "canonical"),
    [
        ("7", "7"),
        ("1-3,7", "1-3,7"),
        (" 1 - 3 , 7 ", "1-3,7"),
        ("7,1-3", "1-3,7"),
        ("1-3,2-5", "1-5"),  # overlapping
        ("1-3,4-6", "1-6"),  # adjacent
        ("5,5,5", "5"),  # repeated
        ("2-2", "2"),
        ("10-20,1-100", "1-100"),  # one inside another
        ("1-5000", "1-5000"),
    ],
)
def test_ranges_are_merged_into_a_canonical_spec(spec: str, canonical: str) -> None:
    assert str(parse(spec)) == canonical


def test_membership_and_counting_do_not_list_the_pages() -> None:
    selection = parse("1-3,7,100-4000")
    assert [n in selection for n in (1, 3, 4, 7, 8, 99, 100, 4000, 4001)] == [
        True,
        True,
        False,
        True,
        False,
        False,
        True,
        True,
        False,
    ]
    assert len(selection) == 3 + 1 + 3901
    assert selection.last == 4000


def test_the_pages_of_a_document_are_those_selected_that_it_has() -> None:
    selection = parse("2-3,6")
    assert list(selection.numbers(page_count=6)) == [2, 3, 6]
    assert selection.first_missing(page_count=6) is None
    assert selection.first_missing(page_count=4) == 6
    assert parse("3-9").first_missing(page_count=4) == 5


def test_a_selection_read_back_from_a_list_of_pages_is_the_same() -> None:
    """Jobs stored before ranges kept every page number; they still run."""
    assert str(PageSelection.of_numbers([3, 1, 2, 7])) == "1-3,7"


@pytest.mark.parametrize(
    "spec",
    [
        "9-zz",
        "3-1",
        "0",
        "-3",
        "1-",
        "1--3",
        ",",
        "1,,2",
        "+3",
        "1_000",
        "\u0663",  # an Arabic-Indic three: int() would take it
        "1-3;7",
        "5001",  # past max_page
        "1-99999999999999999999999",
        "1\x00",
    ],
)
def test_garbage_is_refused(spec: str) -> None:
    with pytest.raises(InvalidPages):
        parse(spec)


def test_a_spec_over_the_length_cap_is_refused_before_it_is_parsed() -> None:
    spec = ",".join(["1"] * (MAX_SPEC_CHARS // 2 + 1))
    with pytest.raises(InvalidPages, match="characters"):
        parse(spec)


def test_a_spec_with_too_many_ranges_is_refused() -> None:
    many = ",".join(str(n) for n in range(1, MAX_RANGES + 2))
    assert len(many) <= MAX_SPEC_CHARS
    with pytest.raises(InvalidPages, match="ranges"):
        parse(many)
    assert len(parse(",".join(str(n) for n in range(1, MAX_RANGES + 1)))) == MAX_RANGES
