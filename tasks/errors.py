"""Errors a user can act on: each message names the file, column or parameter and what was expected."""


class PipelineError(Exception):
    """Base class: the stage stops, prints the message without a traceback, and writes nothing."""


class ConfigError(PipelineError, ValueError):
    """`params.yaml` is missing, malformed or names something that does not exist."""


class DataError(PipelineError, ValueError):
    """An input data file is missing, unreadable or breaks the data contract."""


def invalid_config(exc: Exception, origin: str) -> ConfigError:
    """A pydantic `ValidationError` as one ConfigError: each problem on its own line, named by its dotted path."""
    lines = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"]) or "<top level>"
        got = err.get("input")
        shown = "" if isinstance(got, dict) else f" (got {got!r})"
        lines.append(f"  {path}: {err['msg']}{shown}")
    return ConfigError(f"{origin} is invalid:\n" + "\n".join(lines))
