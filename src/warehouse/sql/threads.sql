-- DuckDB's worker threads for what runs next: `threads` (the data tests run one thread each, several at once;
-- data_tests.rs says why), or without it DuckDB's default again (one per core).
{% if threads %}SET threads = {{ threads }};{% else %}RESET threads;{% endif %}
