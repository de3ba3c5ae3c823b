"""The shared table downloads: CSV that Excel FR opens right, real XLSX, no formula runs."""

import csv
import datetime
import decimal
import io

import pytest
from django.http import StreamingHttpResponse
from django.utils import timezone
from openpyxl import load_workbook

from lien.core import tabular

DANGEROUS = ["=1+1", "+33 6 00", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd", '=HYPERLINK("x")']


@pytest.mark.parametrize("text", DANGEROUS)
def test_text_that_a_spreadsheet_would_run_is_quoted(text):
    assert tabular.csv_cell(text) == "'" + text
    assert tabular.xlsx_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["Lille", "1 rue de la Paix", "a=b", "", "« guillemets »"])
def test_ordinary_text_is_kept(text):
    assert tabular.csv_cell(text) == text


def test_values_are_written_the_way_excel_fr_reads_them():
    paris = timezone.get_current_timezone()
    moment = datetime.datetime(2026, 5, 1, 12, 30, tzinfo=datetime.UTC)
    assert tabular.csv_cell(moment) == "2026-05-01 14:30"  # Paris time, summer
    assert tabular.csv_cell(datetime.date(2026, 5, 1)) == "2026-05-01"
    assert tabular.csv_cell(decimal.Decimal("12.50")) == "12,50"
    assert tabular.csv_cell(0.5) == "0,5"
    assert tabular.csv_cell(-3) == "-3"  # a number, not text: never quoted
    assert tabular.csv_cell(True) == "oui" and tabular.csv_cell(None) == ""
    # Excel has no time zones: the Paris wall-clock time, naive.
    assert tabular.xlsx_cell(moment) == moment.astimezone(paris).replace(tzinfo=None)
    assert tabular.xlsx_cell(moment).hour == 14 and tabular.xlsx_cell(moment).tzinfo is None


ROWS = [
    ["=cmd|' /C calc'!A0", datetime.date(2026, 1, 31), decimal.Decimal("1.5"), 42],
    ["Roubaix ; Tourcoing", None, decimal.Decimal("0"), -1],
]
HEADERS = ["Commune", "Date", "ETP", "Nombre"]


def test_csv_has_a_bom_semicolons_crlf_and_streams():
    response = tabular.tabular_response(name="essai", headers=HEADERS, rows=iter(ROWS), fmt="csv")
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="essai.csv"'
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8")[1:]
    assert text.split("\r\n")[0] == "Commune;Date;ETP;Nombre"
    lines = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert lines[1] == ["'=cmd|' /C calc'!A0", "2026-01-31", "1,5", "42"]
    assert lines[2] == ["Roubaix ; Tourcoing", "", "0", "-1"]  # the separator is quoted


def test_xlsx_opens_with_a_bold_frozen_header_and_typed_cells():
    response = tabular.tabular_response(
        name="essai", headers=HEADERS, rows=iter(ROWS), fmt="xlsx", sheet="Essai"
    )
    assert response["Content-Disposition"] == 'attachment; filename="essai.xlsx"'
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)))["Essai"]
    assert [c.value for c in sheet[1]] == HEADERS
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["A"].width >= 12
    first = [c.value for c in sheet[2]]
    assert first[0] == "'=cmd|' /C calc'!A0" and sheet["A2"].data_type == "s"
    assert first[1].date() == datetime.date(2026, 1, 31) and sheet["B2"].is_date
    assert first[2] == 1.5 and first[3] == 42
    assert sheet.max_row == 3


def test_several_tables_make_sections_or_sheets():
    tables = [
        tabular.Table(title="Premier", headers=["A"], rows=[[1]]),
        tabular.Table(title="Premier", headers=["B"], rows=[[2], [3]]),
    ]
    csv_response = tabular.tables_response(
        name="t", tables=tables, fmt="csv", heading=["Titre général"], stream=False
    )
    lines = csv_response.content.decode("utf-8").lstrip("\ufeff").split("\r\n")
    assert lines[:5] == ["Titre général", "", "Premier", "A", "1"]
    response = tabular.tables_response(name="t", tables=tables, fmt="xlsx", heading=["Titre"])
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert workbook.sheetnames == ["Premier", "Premier 2"]
    second = workbook["Premier 2"]
    assert [r[0] for r in second.iter_rows(values_only=True)] == ["Premier", "Titre", "B", 2, 3]
    assert second.freeze_panes == "A4"


def test_a_hundred_thousand_rows_stream_without_being_built_first():
    produced = []

    def rows():
        for n in range(100_000):
            produced.append(n)
            yield [n, "x"]

    response = tabular.tabular_response(name="big", headers=["n", "x"], rows=rows(), fmt="csv")
    chunks = iter(response.streaming_content)
    next(chunks), next(chunks), next(chunks)
    assert len(produced) < 10  # rows are read as the answer is sent, not before
    assert sum(1 for _ in chunks) == 100_000 - 1


def test_label_is_the_choice_display_and_empty_when_unset():
    from lien.logbook.models import Intervention

    entry = Intervention(origin="patrol", timing="")
    assert tabular.label(entry, "origin") == entry.get_origin_display() != "patrol"
    assert tabular.label(entry, "timing") == ""
