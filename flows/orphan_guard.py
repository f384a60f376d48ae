"""A watchdog that takes a command's helper processes down with it, however the command ends.

``ehrlm`` starts processes of its own and through libraries: Prefect's temporary API server, a process pool
and its forkserver, the DeepSpeed/torchrun launcher and its ranks. A normal exit or Ctrl-C stops them; a
``kill -9`` of the command (an OOM kill, a scheduler's hard stop) does not, and they run on, holding ports,
memory and GPUs. The guard is a tiny separate process that watches the command: it remembers the command's
descendants while it lives, and when it is gone terminates those still running (then kills them after a
grace period). It starts in its own session, so a signal to the command's process group does not reach it
before it has done its job.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil

POLL_SECONDS = 0.5
GRACE_SECONDS = 5.0


def start(pid: int | None = None) -> subprocess.Popen:
    """Start the guard for process ``pid`` (default: this one)."""
    return subprocess.Popen(
        [sys.executable, "-m", "flows.orphan_guard", str(pid or os.getpid())],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )


def _descendants(parent: psutil.Process) -> dict[int, float]:
    """pid -> creation time of every descendant, the guard excluded (creation time tells a reused pid apart)."""
    out = {}
    for child in parent.children(recursive=True):
        try:
            if child.pid != os.getpid():
                out[child.pid] = child.create_time()
        except psutil.NoSuchProcess:
            continue
    return out


def _still_ours(pid: int, created: float) -> psutil.Process | None:
    try:
        proc = psutil.Process(pid)
        return proc if proc.create_time() == created else None
    except psutil.NoSuchProcess:
        return None


def watch(pid: int) -> None:
    """Block until process ``pid`` ends, then terminate the descendants it had (kill them after the grace)."""
    try:
        parent = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    known: dict[int, float] = {}
    while True:
        try:
            if parent.status() == psutil.STATUS_ZOMBIE:
                break
            known.update(_descendants(parent))
        except psutil.NoSuchProcess:
            break
        time.sleep(POLL_SECONDS)
    left = [p for pid_, created in known.items() if (p := _still_ours(pid_, created)) is not None]
    for proc in left:
        try:
            proc.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(left, timeout=GRACE_SECONDS)
    for proc in alive:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass


if __name__ == "__main__":
    watch(int(sys.argv[1]))
