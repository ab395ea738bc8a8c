"""What the crawl benchmark measures of a process, apart from what it runs (``bench/crawl_bench.py``).

Memory and CPU time read from ``/proc`` and ``getrusage``: the crawl's own process, its fetch process (a
child: forked below ``crawlers.fetch_process.SPAWN_ABOVE`` hosts, spawned above), and the demo server.
"""
from __future__ import annotations

import os
import resource
import threading
from pathlib import Path


def _status_kb(pid: int | str, field: str) -> int | None:
    """A ``/proc/<pid>/status`` field in kB (``VmHWM``, ``VmRSS``), None when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited across exec)."""
    kb = _status_kb("self", "VmHWM")
    return kb / 1024 if kb is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """This process's resident memory now."""
    return (_status_kb("self", "VmRSS") or 0) / 1024


def children_peak_mb() -> float:
    """The largest peak resident memory of this process's finished children (ru_maxrss: the biggest one's)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def cpu_seconds(pid: int | None = None, children: bool = False) -> float:
    """User + system CPU time of this process (all threads), of its finished children (``children``: the
    crawl's fetch processes, counted once they have ended) or of process ``pid`` (from /proc)."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine() -> str:
    """The CPU model and count, as the docs' tables name the machine."""
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        model = "?"
    return f"{os.cpu_count()} × {model}"


class ChildMemory(threading.Thread):
    """The crawl's fetch process's memory, sampled every 0.2 s from /proc while it lives: its own peak
    resident memory (``VmHWM`` of its ``status``, the kernel's high-water mark: nothing between samples is
    missed) and the most private memory it held (USS, from ``smaps_rollup``: pages not shared with the
    crawl; a forked child's RSS counts the crawl's pages it shares). multiprocessing's resource tracker (a
    child too, when the fetch process is spawned) is left out."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.peak_private = 0  # kB
        self.peak_hwm = 0  # kB

    def run(self) -> None:
        while not self.stop.wait(0.2):
            for task in Path("/proc/self/task").iterdir():
                for pid in (task / "children").read_text().split():
                    self._sample(pid)

    def _sample(self, pid: str) -> None:
        try:
            if b"resource_tracker" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
        except OSError:
            return
        private = sum(int(line.split()[1]) for line in rollup if line.startswith("Private_"))
        self.peak_private = max(self.peak_private, private)
        self.peak_hwm = max(self.peak_hwm, _status_kb(pid, "VmHWM") or 0)
