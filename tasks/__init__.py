"""Pure stage logic of the platform: one module per pipeline stage, no Prefect, no global state."""
