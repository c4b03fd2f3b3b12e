"""Prefect flows, one per pipeline stage, and the command DVC runs for each (`python -m flows STAGE ...`)."""
