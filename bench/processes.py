"""Child processes for the benchmark: start, wait until they answer HTTP, stop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def invoicebot_command() -> list[str]:
    """The installed `invoicebot` script beside this interpreter, as a user would run it."""
    script = Path(sys.executable).with_name("invoicebot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


@dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process
    url: str
    started: float
    ready_after: float = 0.0

    @property
    def pid(self) -> int:
        return self.process.pid

    def memory_kib(self, field: str = "VmRSS") -> int:
        """Resident memory (or its high-water mark, `VmHWM`) as the kernel counts it."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise LookupError(field)

    def cpu_ticks(self) -> int:
        """User plus system CPU time the process has used so far (/proc/PID/stat), in
        clock ticks: subtract ticks, then convert (`cpu_ms`), or two float readings
        one tick apart differ by 0.010000000000000009 s and 15 ms reads as over 15."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()  # after the command's name
        return int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat(5)

    def reset_peak_memory(self) -> bool:
        """Start `VmHWM` afresh (Linux's clear_refs 5); False where the kernel refuses."""
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        except OSError:
            return False
        return True

    async def stop(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


def cpu_ms(ticks: int) -> float:
    """Ticks in milliseconds, multiplied before dividing so that whole ones stay whole."""
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


async def start(
    name: str,
    argv: list[str],
    url: str,
    *,
    ready_path: str = "/",
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    patience: float = 30.0,
    poll: float = 0.005,
) -> Child:
    """Start `argv` and return once `url + ready_path` answers (any HTTP status counts)."""
    ready_url = url + ready_path
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *argv,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    child = Child(name, process, url, started)
    async with aiohttp.ClientSession() as http:
        while True:
            if process.returncode is not None:
                error = (await process.stderr.read()).decode() if process.stderr else ""
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{error[-2000:]}")
            try:
                async with http.get(ready_url, timeout=aiohttp.ClientTimeout(total=1)):
                    break
            except (aiohttp.ClientError, TimeoutError):
                if time.perf_counter() - started > patience:
                    await child.stop()
                    raise RuntimeError(
                        f"{name} did not answer {ready_url} in {patience} s"
                    ) from None
                await asyncio.sleep(poll)
    child.ready_after = time.perf_counter() - started
    if process.stderr is not None:  # keep its pipe from filling up
        asyncio.get_running_loop().create_task(_drain(process.stderr))
    return child


async def wait_until_answering(url: str, patience: float = 30.0) -> None:
    """Poll `url` until it answers with any HTTP status."""
    deadline = time.perf_counter() + patience
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(url, timeout=aiohttp.ClientTimeout(total=1)):
                    return
            except (aiohttp.ClientError, TimeoutError):
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"{url} did not answer in {patience} s") from None
                await asyncio.sleep(0.01)


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.read(65536):
        pass
