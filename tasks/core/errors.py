"""Errors a user can act on: each message names the file, column or parameter and what was expected."""


class PipelineError(Exception):
    """Base class: the stage stops, prints the message without a traceback, and writes nothing."""


class ConfigError(PipelineError, ValueError):
    """`params.yaml` is missing, malformed or names something that does not exist."""


class DataError(PipelineError, ValueError):
    """An input data file is missing, unreadable or breaks the data contract."""


class UnreadableFile(DataError):
    """A file a stage reads is missing, truncated or corrupted; the message says how to restore or rebuild it."""


# YAML 1.1 (PyYAML, DVC) reads these words unquoted as booleans
YAML_BOOLEANS = {True: ("on", "yes", "true", "y"), False: ("off", "no", "false", "n")}


def yaml_boolean_hint(got: object, expected: str = "") -> str:
    """Why a boolean arrived where text was expected, and the fix: the word quoted (one the expected values name
    when there is one, e.g. 'off')."""
    words = YAML_BOOLEANS[bool(got)]
    word = next((w for w in words if f"'{w}'" in expected), words[0])
    return (f"; YAML reads an unquoted {'/'.join(words)} as the boolean {got}: quote it: '{word}'")


def invalid_config(exc: Exception, origin: str) -> ConfigError:
    """A pydantic `ValidationError` as one ConfigError: each problem on its own line, named by its dotted path."""
    lines = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"]) or "<top level>"
        got = err.get("input")
        shown = "" if isinstance(got, dict) else f" (got {got!r})"
        if isinstance(got, bool) and err["type"] in ("literal_error", "string_type"):
            shown += yaml_boolean_hint(got, str(err.get("ctx", {}).get("expected", "")))
        if err["type"] == "missing" and err["loc"][-1] == "gates":
            shown = " (write `gates: {}` to keep the shared gate settings: dvc.yaml's stages declare the key)"
        lines.append(f"  {path}: {err['msg']}{shown}")
    return ConfigError(f"{origin} is invalid:\n" + "\n".join(lines))
