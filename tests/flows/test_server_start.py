"""Two commands starting at once on one new ``PREFECT_HOME``: the second waits for the first's server start
(which migrates the database) instead of migrating the same tables concurrently and failing."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time

import pytest

from flows.cli import START_LOCK

START = "from flows.cli import _quiet_prefect_defaults, _start_prefect; _quiet_prefect_defaults(); _start_prefect()"


@pytest.mark.slow
def test_a_second_start_waits_for_the_lock_then_starts(tmp_path):
    home = tmp_path / "prefect-home"
    home.mkdir()
    env = {**os.environ, "PREFECT_HOME": str(home)}
    env.pop("PREFECT_API_URL", None)
    with open(home / START_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a first command, starting its server
        second = subprocess.Popen([sys.executable, "-c", START], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(30)  # an unserialised start creates the database within this time
        assert second.poll() is None and not list(home.glob("*.db")), "the second start did not wait"
    _, err = second.communicate(timeout=300)
    assert second.returncode == 0, err.decode()[-2000:]
    assert list(home.glob("*.db"))
