//! Real local parts for tests and benchmarks: a SODA-compatible HTTP server and a seeded SPD data generator.
//! Nothing here is used by the product's commands.
