"""Who runs a job: the driver process's identity (host, pid, the process's start time) and whether
such a driver is still alive, so jobs left ``running`` by a killed driver on this host are taken
over at once; elsewhere (another host sharing OUTDIR) its lease has to expire first."""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Owner:
    host: str
    pid: int
    started: str
    """The process's start time in clock ticks after boot (Linux), so a reused pid is told
    apart; empty where unknown."""
    token: str

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.started}:{self.token}"

    @classmethod
    def parse(cls, text: str) -> Owner | None:
        parts = text.rsplit(":", 3)
        if len(parts) != 4 or not parts[1].isdigit():
            return None
        return cls(parts[0], int(parts[1]), parts[2], parts[3])

    @classmethod
    def current(cls) -> Owner:
        return cls(socket.gethostname(), os.getpid(), _start_time(os.getpid()),
                   secrets.token_hex(4))


def is_dead(owner_text: str | None) -> bool:
    """True when the owner is known to be gone: a process of this host that no longer runs
    (or whose pid now belongs to another process). False when alive or unknowable (another
    host: its lease decides)."""
    owner = Owner.parse(owner_text or "")
    if owner is None:
        return True
    if owner.host != socket.gethostname():
        return False
    try:
        os.kill(owner.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # another user's process with that pid: compare start times
    started = _start_time(owner.pid)
    return bool(owner.started and started and started != owner.started)


def _start_time(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # the command name (field 2) may hold spaces: split after its closing parenthesis
    fields = stat[stat.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else ""
