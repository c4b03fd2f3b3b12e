"""Errors a user can act on: each message names the file, column or parameter and what was expected."""


class PipelineError(Exception):
    """Base class: the stage stops, prints the message without a traceback, and writes nothing."""


class ConfigError(PipelineError, ValueError):
    """`params.yaml` is missing, malformed or names something that does not exist."""


class DataError(PipelineError, ValueError):
    """An input data file is missing, unreadable or breaks the data contract."""
