"""Pure logic of each pipeline stage (no Prefect): one module per stage."""
