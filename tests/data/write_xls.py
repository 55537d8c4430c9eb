#!/usr/bin/python3
"""Writes a legacy Excel 2003 .xls (BIFF8) for the 批量勾选 tests, with Debian's python3-xlwt.

Usage: write_xls.py OUT.xls < spec.json, where spec is
{"sheets": [{"name": "...", "rows": [[cell, ...], ...], "merge": [[r0, r1, c0, c1], ...]}]}
and a cell is a string, a number (written as a number cell) or null (left empty).
"""
import json
import sys

import xlwt


def main() -> None:
    spec = json.load(sys.stdin)
    book = xlwt.Workbook(encoding="utf-8")
    for s in spec["sheets"]:
        ws = book.add_sheet(s["name"])
        merged = set()
        for r0, r1, c0, c1 in s.get("merge", []):
            value = s["rows"][r0][c0]
            ws.write_merge(r0, r1, c0, c1, value)
            merged.update((r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1))
        for r, row in enumerate(s["rows"]):
            for c, value in enumerate(row):
                if value is None or (r, c) in merged:
                    continue
                ws.write(r, c, value)
    book.save(sys.argv[1])


if __name__ == "__main__":
    main()
