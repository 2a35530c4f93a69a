"""Promises docs/extraction.md makes that no other test held it to."""

from __future__ import annotations

from pathlib import Path

from extract_helpers import extract

from pagewire.extract.formats import XLSX


def test_a_sheet_longer_than_20000_rows_is_cut_there_and_says_so(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("docket")
    sheet.append(["entry", "filed"])
    for n in range(1, 20_003):  # 20,002 entries under the header: 20,003 rows
        sheet.append([n, f"2026-01-{n % 28 + 1:02d}"])
    path = tmp_path / "docket.xlsx"
    book.save(path)

    [page] = extract(path, XLSX)["pages"]

    [table] = page["tables"]
    assert len(table["rows"]) == 20_000
    assert table["rows"][0] == ("entry", "filed") and table["rows"][-1][0] == "19999"
    assert "sheet truncated after 20000 rows" in page["warnings"]
