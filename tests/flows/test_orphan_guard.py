"""``kill -9`` of a command: the guard takes its helper processes (servers, pools, ranks) down with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

# A stand-in for ``ehrlm``: starts the guard, a child and a grandchild (a server and a pool worker), reports them.
COMMAND = r"""
import subprocess, sys, time
from flows import orphan_guard
orphan_guard.start()
child = subprocess.Popen([sys.executable, "-c",
    "import subprocess, sys, time; g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
    "print(g.pid, flush=True); time.sleep(600)"], stdout=subprocess.PIPE, text=True)
grandchild = child.stdout.readline().strip()
print(child.pid, grandchild, flush=True)
time.sleep(600)
"""


@pytest.mark.slow
def test_killing_the_command_takes_its_children_and_grandchildren_down():
    cmd = subprocess.Popen([sys.executable, "-c", COMMAND], stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
    pids = [int(p) for p in cmd.stdout.readline().split()]
    procs = [psutil.Process(p) for p in pids]
    time.sleep(2)  # the guard polls every 0.5 s: let it see the family
    os.kill(cmd.pid, signal.SIGKILL)
    cmd.wait()
    gone, alive = psutil.wait_procs(procs, timeout=30)
    assert not alive, [p.pid for p in alive]
    assert len(gone) == 2
