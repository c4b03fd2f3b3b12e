"""What every stage flow shares: Prefect settings for DVC-run stages, split I/O, the task decorator, telling a
lost Prefect server from other failures."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.core.artefacts import META_FILE, SPEC_FILE, EvaluationMetrics, FeatureSpec, read_metrics, split_file
from tasks.core.errors import PipelineError
from tasks.core.io import read_json, read_parquet

log = logging.getLogger("mlplatform")
log.setLevel(logging.INFO)  # Prefect's root logger is at WARNING: the project's INFO lines would be dropped

# Tasks pass frames in memory within one process; hashing them for Prefect's cache would cost more than the work.
stage_task = task(cache_policy=NO_CACHE)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def is_transport_error(exc: BaseException) -> bool:
    """True if `exc` is, or was raised from, a failed HTTP exchange (refused, reset, timed out)."""
    import httpx

    return any(isinstance(e, httpx.TransportError) for e in _chain(exc))


def is_server_error(exc: BaseException) -> bool:
    """True if `exc` is, or was raised from, a 5xx answer that outlasted Prefect's retries (e.g. 503: the server's
    SQLite database locked on a loaded machine)."""
    import httpx

    return any(isinstance(e, httpx.HTTPStatusError) and e.response.status_code >= 500 for e in _chain(exc))


def lost_api(exc: BaseException) -> str | None:
    """The Prefect API URL this stage reports to, when `exc` comes from that server having gone away or failing:
    a transport error while the server fails its health check now, or a 5xx answer. None for any other failure."""
    from tasks.ops.stack import healthy

    url = os.environ.get("PREFECT_API_URL")
    return url if url and (is_server_error(exc) or is_transport_error(exc) and not healthy(url)) else None


class HideUserErrorTracebacks(logging.Filter):
    """A `PipelineError` is a message for the user, and a lost Prefect server is reported by the stage command
    in one line: keep Prefect's log line, drop the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None and (
                isinstance(record.exc_info[1], PipelineError) or is_transport_error(record.exc_info[1])
                or is_server_error(record.exc_info[1])):
            record.exc_info, record.exc_text = None, None
        return True


@contextmanager
def stage_settings() -> Iterator[None]:
    """Prefect settings re-read from this process's environment, without flow heartbeats.

    DVC waits on each stage process and sees it crash, so heartbeats (which cost up to a second when the flow
    ends) buy nothing here; deployments run by workers keep them.
    """
    from prefect.context import SettingsContext, get_settings_context
    from prefect.settings import Settings

    settings = Settings().copy_with_update(updates={"flows.heartbeat_frequency": None})
    quiet = HideUserErrorTracebacks()
    loggers = [logging.getLogger(name) for name in ("prefect.flow_runs", "prefect.task_runs")]
    for logger in loggers:
        logger.addFilter(quiet)
    try:
        with SettingsContext(profile=get_settings_context().profile, settings=settings):
            yield
    finally:
        for logger in loggers:
            logger.removeFilter(quiet)


def read_split(data_dir: Path, name: str) -> pd.DataFrame:
    return read_parquet(data_dir / split_file(name))


def read_meta(data_dir: Path) -> dict:
    return read_json(data_dir / META_FILE)


def read_spec(features_dir: Path) -> FeatureSpec:
    return FeatureSpec.from_dict(read_json(features_dir / SPEC_FILE))


def read_evaluation(path: Path, *, binary: bool) -> EvaluationMetrics:
    """One model's evaluation metrics file; a binary model's must carry its decision threshold."""
    return read_metrics(read_json(path), path, binary=binary)
