#!/usr/bin/python3
"""Reads a ledgerctl export back with independent readers and compares it with the server.

    ledgerctl_test.py EXPECTED.json FILE.csv FILE.xlsx

EXPECTED.json is a JSON array of the rows as the gRPC API returned them (proto field names,
every field printed), written by tests/ledgerctl_test.cc from its own RPCs. The CSV is read
with Python's csv module, the workbook with openpyxl (Debian's python3-openpyxl: run this
with /usr/bin/python3). Every value of every row must be equal; the workbook's cells must
be typed (numbers for money and ids, dates for times, booleans), its header bold. Prints
"OK" and exits 0, or prints every difference and exits 1.
"""

import csv
import datetime
import decimal
import json
import sys

import openpyxl

MONEY = {"total_credit", "available_credit", "amount", "credit_left", "cost", "uncollected"}
TIMES = {"created_at", "started_at"}
BOOLS = {"pin_set", "unlimited", "late"}
INTEGERS = {"id", "callerid_id", "duration_seconds"}

problems = []


def problem(where, text):
    problems.append(f"{where}: {text}")


def expected_text(row, key):
    """The value as the CSV should hold it: the API's JSON value as text."""
    value = row.get(key, "")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def check_csv(expected, path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows:
        problem(path, "empty")
        return None
    header = rows[0]
    body = rows[1:]
    if len(body) != len(expected):
        problem(path, f"{len(body)} rows, expected {len(expected)}")
    for i, (got, want) in enumerate(zip(body, expected)):
        if len(got) != len(header):
            problem(f"{path} row {i + 2}", f"{len(got)} fields, header has {len(header)}")
            continue
        for key, value in zip(header, got):
            if value != expected_text(want, key):
                problem(f"{path} row {i + 2} {key}", f"{value!r} != {expected_text(want, key)!r}")
    return header


def check_xlsx(expected, path, header):
    workbook = openpyxl.load_workbook(path)
    sheet = workbook.worksheets[0]
    rows = list(sheet.iter_rows())
    titles = rows[0]
    if len(titles) != len(header):
        problem(path, f"{len(titles)} columns, the CSV has {len(header)}")
    for cell in titles:
        if not cell.font.b:
            problem(f"{path} {cell.coordinate}", "header cell is not bold")
    if sheet.freeze_panes != "A2":
        problem(path, f"header row not frozen ({sheet.freeze_panes})")
    for letter, dimension in sheet.column_dimensions.items():
        if not dimension.width or dimension.width < 5:
            problem(f"{path} column {letter}", f"width {dimension.width}")
    body = rows[1 : 1 + len(expected)]
    if len(body) < len(expected):
        problem(path, f"{len(body)} rows, expected {len(expected)}")
    for i, (cells, want) in enumerate(zip(body, expected)):
        for key, cell in zip(header, cells):
            where = f"{path} {cell.coordinate} {key}"
            text = expected_text(want, key)
            value = cell.value
            if key in MONEY:
                if text in ("", "unlimited"):
                    # A table for people: unlimited credit says so.
                    if want.get("unlimited") or text == "unlimited":
                        if value != "unlimited":
                            problem(where, f"{value!r} != 'unlimited'")
                    elif value is not None:
                        problem(where, f"{value!r} != empty")
                    continue
                if not isinstance(value, (int, float)) or isinstance(value, bool):
                    problem(where, f"{value!r} is not a number")
                    continue
                if abs(decimal.Decimal(repr(value)) - decimal.Decimal(text)) > decimal.Decimal(
                    "1e-9"
                ):
                    problem(where, f"{value!r} != {text}")
                decimals = len(text.split(".")[1]) if "." in text else 0
                shown = cell.number_format.split(".")[1] if "." in cell.number_format else ""
                if len(shown) != decimals:
                    problem(where, f"number format {cell.number_format!r} for {text}")
            elif key in TIMES:
                if not isinstance(value, datetime.datetime):
                    problem(where, f"{value!r} is not a date")
                    continue
                if "yy" not in cell.number_format:
                    problem(where, f"date format {cell.number_format!r}")
                want_time = parse_time(text).replace(tzinfo=None)
                if abs((value - want_time).total_seconds()) > 0.001:
                    problem(where, f"{value} != {want_time}")
            elif key in BOOLS:
                if value is not want.get(key, False):
                    problem(where, f"{value!r} != {want.get(key)!r}")
            elif key in INTEGERS:
                if not isinstance(value, int) or isinstance(value, bool) or str(value) != text:
                    problem(where, f"{value!r} != {text}")
            else:
                if (value if value is not None else "") != text:
                    problem(where, f"{value!r} != {text!r}")


def main():
    expected_path, csv_path, xlsx_path = sys.argv[1:4]
    with open(expected_path, encoding="utf-8") as f:
        expected = json.load(f)
    header = check_csv(expected, csv_path)
    if header is not None:
        check_xlsx(expected, xlsx_path, header)
    if problems:
        print("\n".join(problems))
        return 1
    print(f"OK: {len(expected)} rows equal in {csv_path} and {xlsx_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
