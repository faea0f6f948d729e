"""newslake: scraped news-article seeds to a validated, date-partitioned Parquet lake.

`newslake.core` is the pure extraction logic (bytes in, records out, no I/O, no Prefect);
`newslake.batch` reads seed files and turns them into table frames; `newslake.lake` owns the lake layout.
"""
