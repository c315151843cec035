"""CPU per thread over time of one command, from /proc (Linux): where cores sit idle.

    python benchmarks/cpu_timeline.py -- srbench run --models bicubic --data-root DATA

Every `--every` seconds it prints the cores in use and each thread's share; threads are
numbered in the order they appeared (0 is the main thread: Python does not name its
threads for the OS), the threads of its child processes among them. At the end: wall time,
CPU time and idle core-seconds (cores x wall - CPU), the figure to compare between versions
when the VM's speed drifts.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time


def _cpu_by_thread(pid: int) -> dict[int, float]:
    """Seconds of CPU (user + system) per thread id of `pid` and of its child processes (the
    image feed's forked decoder among them); empty once it has exited."""
    tick = os.sysconf("SC_CLK_TCK")
    seconds: dict[int, float] = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return seconds
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                children = [int(c) for c in fh.read().split()]
        except OSError:
            continue  # the thread ended between listing and reading
        seconds[int(tid)] = (int(fields[11]) + int(fields[12])) / tick
        for child in children:
            seconds |= _cpu_by_thread(child)
    return seconds


def main() -> None:
    """Run the command, print its per-thread CPU timeline and its idle core-seconds."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--every", type=float, default=0.5, help="seconds between samples")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    args = parser.parse_args()
    command = [c for c in args.command if c != "--"] or parser.error("give a command after --")
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    order: dict[int, int] = {}
    seen: dict[int, float] = {}
    while child.poll() is None:
        time.sleep(args.every)
        now = _cpu_by_thread(child.pid)
        cores_of = {
            order.setdefault(tid, len(order)): (now[tid] - seen.get(tid, 0.0)) / args.every
            for tid in sorted(now)
        }
        seen |= now
        shares = " ".join(f"{n}={c:.2f}" for n, c in cores_of.items() if c >= 0.01)
        busy = sum(cores_of.values())
        print(f"{time.perf_counter() - start:6.1f} s  {busy:4.2f} cores  {shares}")
    wall = time.perf_counter() - start
    usage = os.times()
    cpu = usage.children_user + usage.children_system
    cores = len(os.sched_getaffinity(0))
    print(f"wall {wall:.2f} s, CPU {cpu:.2f} s, idle {cores * wall - cpu:.2f} core-s on {cores}")
    sys.exit(child.returncode)


if __name__ == "__main__":
    main()
