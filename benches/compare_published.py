#!/usr/bin/env python3
"""Whether two published warehouses hold the same relations with the same rows (issue 16: a faster build must
publish what the slower one did). For every table and view of the `staging` and `marts` schemas in either file:
the same columns with the same types, and `EXCEPT ALL` both ways empty (`meta_build` without `built_at`, which is
the build's clock). Build both on one lake first, e.g. main's binary and this branch's:

    cp -a DATA_A/lake DATA_B/   # the same lake in two data dirs
    crimewatch-main --data-dir DATA_A build && crimewatch --data-dir DATA_B build
    python3 benches/compare_published.py DATA_A/warehouse.duckdb DATA_B/warehouse.duckdb

Prints one line per relation; exits 1 when any differs. Needs Python's duckdb (scripts/install-test-deps).
"""
import sys

import duckdb

SCHEMAS = ("staging", "marts")
# Columns that may differ between two builds of the same lake.
CLOCK_COLUMNS = {"meta_build": ["built_at"]}


def relations(conn, db):
    rows = conn.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = ? "
        "union all select schema_name, view_name from duckdb_views() where database_name = ? and not internal",
        [db, db],
    ).fetchall()
    return {(s, t) for s, t in rows if s in SCHEMAS}


def columns(conn, db, schema, table):
    return conn.execute(
        "select column_name, data_type from duckdb_columns() "
        "where database_name = ? and schema_name = ? and table_name = ? order by column_index",
        [db, schema, table],
    ).fetchall()


def main(a_path, b_path):
    conn = duckdb.connect()
    conn.execute(f"attach '{a_path}' as a (read_only)")
    conn.execute(f"attach '{b_path}' as b (read_only)")
    rels_a, rels_b = relations(conn, "a"), relations(conn, "b")
    differ = 0
    for schema, table in sorted(rels_a ^ rels_b):
        print(f"{schema}.{table}: only in {'a' if (schema, table) in rels_a else 'b'}")
        differ += 1
    for schema, table in sorted(rels_a & rels_b):
        cols_a, cols_b = columns(conn, "a", schema, table), columns(conn, "b", schema, table)
        if cols_a != cols_b:
            print(f"{schema}.{table}: columns differ: {cols_a} against {cols_b}")
            differ += 1
            continue
        skip = CLOCK_COLUMNS.get(table, [])
        select = "* exclude ({})".format(", ".join(skip)) if skip else "*"
        counts = []
        for x, y in (("a", "b"), ("b", "a")):
            counts.append(conn.execute(
                f'select count(*) from (select {select} from {x}."{schema}"."{table}" '
                f'except all select {select} from {y}."{schema}"."{table}")'
            ).fetchone()[0])
        rows = conn.execute(f'select count(*) from a."{schema}"."{table}"').fetchone()[0]
        same = counts == [0, 0]
        differ += 0 if same else 1
        print(f"{schema}.{table}: {rows} rows, a-b {counts[0]}, b-a {counts[1]}{'' if same else '  DIFFERENT'}")
    print("identical" if differ == 0 else f"{differ} relation(s) differ")
    return 1 if differ else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
