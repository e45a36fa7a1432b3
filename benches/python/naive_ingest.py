#!/usr/bin/env python3
"""The plain Python ingest that `cargo bench --bench pipeline -- ingest` measures crimewatch against (issue 16).

The original design's way, written as a careful Python programmer would without tuning it: one report month at a
time, page by page with `requests` (one keep-alive session), each page a pandas DataFrame, the month cleaned into
the lake's columns and types, written as Parquet (zstd) by pyarrow. Same server, same months, same pages (`$limit`,
`:id` order) and the same lake columns as crimewatch writes; no change detection, no manifest, no quarantine.

usage: naive_ingest.py URL DATASET SINCE UNTIL OUT_DIR    (months as YYYY-MM; prints a JSON summary)
"""
import json
import os
import sys

import pandas as pd
import requests

PAGE_ROWS = 50_000
TEXT = [
    "report_number", "offense_id", "nibrs_group_a_b", "nibrs_crime_against_category", "offense_sub_category",
    "shooting_type_group", "block_address", "beat", "precinct", "sector", "neighborhood", "reporting_area",
    "offense_category", "nibrs_offense_code_description", "nibrs_offense_code",
]
TIMESTAMPS = ["report_date_time", "offense_date", "offense_end_date"]
DOUBLES = ["latitude", "longitude"]
REDACTABLE = ["block_address", "reporting_area", "latitude", "longitude"]
LAKE_COLUMNS = [
    "report_number", "offense_id", "report_date_time", "offense_date", "offense_end_date", "nibrs_group_a_b",
    "nibrs_crime_against_category", "offense_sub_category", "shooting_type_group", "block_address", "latitude",
    "longitude", "beat", "precinct", "sector", "neighborhood", "reporting_area", "offense_category",
    "nibrs_offense_code_description", "nibrs_offense_code", "extra_columns", "source_row_id", "source_updated_at",
    "source_kind",
]


def months(since, until):
    y, m = map(int, since.split("-"))
    end = tuple(map(int, until.split("-")))
    while (y, m) <= end:
        yield y, m
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def fetch_month(session, resource, y, m):
    """Every row of one report month, page by page, as one DataFrame."""
    ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
    where = f"report_date_time >= '{y:04}-{m:02}-01T00:00:00' AND report_date_time < '{ny:04}-{nm:02}-01T00:00:00'"
    frames, offset = [], 0
    while True:
        params = {"$select": ":*,*", "$where": where, "$order": ":id", "$limit": PAGE_ROWS, "$offset": offset}
        reply = session.get(resource, params=params, timeout=120)
        reply.raise_for_status()
        rows = reply.json()
        if rows:
            frames.append(pd.DataFrame(rows))
        offset += len(rows)
        if len(rows) < PAGE_ROWS:
            break
    return pd.concat(frames, ignore_index=True) if frames else None


def to_lake(df):
    """The lake's columns and types; placeholders ("-", "", REDACTED, coordinates 0 and -1) become NULL."""
    df = df.rename(columns={":id": "source_row_id", ":updated_at": "source_updated_at"})
    for c in TEXT + TIMESTAMPS + DOUBLES:
        if c not in df:
            df[c] = None
    for c in TEXT + TIMESTAMPS + DOUBLES:
        s = df[c].astype("object").str.strip()
        blank = s.isin(["", "-"]) | (s.str.upper().eq("REDACTED") if c in REDACTABLE else False)
        df[c] = s.mask(blank)
    for c in TIMESTAMPS:
        df[c] = pd.to_datetime(df[c], format="ISO8601").astype("datetime64[us]")
    for c in DOUBLES:
        x = pd.to_numeric(df[c])
        df[c] = x.mask(x.isin([0.0, -1.0]))
    updated = pd.to_datetime(df["source_updated_at"], format="ISO8601", utc=True)
    df["source_updated_at"] = updated.dt.tz_localize(None).astype("datetime64[us]")
    extras = [c for c in df.columns if c not in LAKE_COLUMNS and not c.startswith(":")]
    found = [{k: v for k, v in sorted(r.items()) if isinstance(v, str)} for r in df[extras].to_dict("records")]
    texts = [json.dumps(e, separators=(",", ":")) if e else None for e in found] if extras else None
    df["extra_columns"] = pd.Series(texts, index=df.index, dtype="string")
    df["source_kind"] = "soda"
    return df[LAKE_COLUMNS].sort_values("source_row_id", kind="stable")


def main():
    url, dataset, since, until, out = sys.argv[1:6]
    resource = f"{url.rstrip('/')}/resource/{dataset}.json"
    rows = written = 0
    with requests.Session() as session:
        for y, m in months(since, until):
            df = fetch_month(session, resource, y, m)
            if df is None:
                continue
            df = to_lake(df)
            folder = os.path.join(out, f"report_month={y:04}-{m:02}")
            os.makedirs(folder, exist_ok=True)
            df.to_parquet(os.path.join(folder, "part-0.parquet"), compression="zstd", index=False)
            rows += len(df)
            written += 1
    print(json.dumps({"rows": rows, "months": written}))


if __name__ == "__main__":
    main()
