"""Operations: the local Prefect stack, the warm stage runner, Prefect's deployment API and GPU routing."""
