"""Where a run's frames are processed: in this process (``local``, the default) or on a Ray cluster.

:func:`execute` is the one entry the CLI and the window's worker call. The local path never imports
Ray; the cluster path (:mod:`vru_desktop.detection.cluster`) is imported only when chosen.
"""

from __future__ import annotations

from types import ModuleType

from vru_desktop.detection.pipeline import RunCallbacks, RunControl, RunSummary, execute_run
from vru_desktop.settings import CLUSTER, CLUSTER_INSTALL_HINT, REGISTRY, Locations, get_setting
from vru_desktop.store.db import Database

LOCAL = "local"


def cluster_choice(db: Database, cluster: str | None = None) -> str:
    """``cluster`` (checked like the setting) when given, else the ``detection.cluster`` setting."""
    return get_setting(db, CLUSTER) if cluster is None else REGISTRY[CLUSTER].check(cluster)


def execute(
    db: Database,
    session_id: int,
    locations: Locations,
    *,
    cluster: str | None = None,
    control: RunControl | None = None,
    callbacks: RunCallbacks | None = None,
) -> RunSummary:
    """Run (or continue) a run where ``cluster`` (or the setting) says; see :func:`execute_run`."""
    where = cluster_choice(db, cluster)
    if where == LOCAL:
        return execute_run(db, session_id, locations, control=control, callbacks=callbacks)
    return cluster_module().execute_on_cluster(
        db, session_id, locations, where, control=control, callbacks=callbacks
    )


def cluster_module() -> ModuleType:
    """:mod:`vru_desktop.detection.cluster`, or a :class:`ClusterError` saying how to install Ray."""
    from vru_desktop.errors import ClusterError

    try:
        from vru_desktop.detection import cluster
    except ModuleNotFoundError as exc:
        if exc.name != "ray" and not (exc.name or "").startswith("ray."):
            raise
        raise ClusterError(
            "Running detection on a Ray cluster needs Ray.", hint=CLUSTER_INSTALL_HINT
        ) from exc
    return cluster
