-- Settings of the build's connection: a memory cap (DuckDB spills to the temp folder beyond it), no
-- insertion-order bookkeeping (no model depends on row order), and spill files next to the candidate so a killed
-- build's leftovers are found and removed with it.
SET memory_limit = '{{ memory_limit_mb }}MB';
SET preserve_insertion_order = false;
SET temp_directory = '{{ temp_directory }}';
