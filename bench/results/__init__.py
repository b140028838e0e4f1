"""The results store: one directory per run (run.json + Parquet tables + WAVs)."""
