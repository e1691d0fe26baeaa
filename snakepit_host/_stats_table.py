"""``snakepit-host stats``: a running host's ``stats`` report as an operator reads it in a terminal."""

from __future__ import annotations

from typing import Any

MiB = 1024 * 1024
COLUMNS = ("calls", "errors", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms")


def _duration(seconds: float) -> str:
    minutes, second = divmod(int(seconds), 60)
    hours, minute = divmod(minutes, 60)
    days, hour = divmod(hours, 24)
    if days:
        return f"{days}d{hour:02d}h{minute:02d}m"
    if hours:
        return f"{hours}h{minute:02d}m{second:02d}s"
    return f"{minutes}m{second:02d}s" if minutes else f"{seconds:.1f}s"


def _mib(value: int | None) -> str:
    return "?" if value is None else f"{value / MiB:.1f} MiB"


def render(report: dict[str, Any]) -> str:
    host, sessions = report["host"], report["sessions"]
    lines = [
        f"snakepit-host {host['version']} at {host['address']}, pid {host['pid']}, "
        f"up {_duration(host['uptime_seconds'])}",
        f"memory: RSS {_mib(host['rss_bytes'])} (peak {_mib(host['peak_rss_bytes'])}); threads: {host['threads']}",
        f"sessions: {sessions['live']} live (at most {sessions['max']}, idle ttl {sessions['ttl_seconds']:g} s)",
        f"calls: {report['calls']}, errors: {report['errors']}"
        + (f"; observers: {', '.join(report['observers'])}" if report["observers"] else ""),
    ]
    streams = report["streams"]
    if streams:
        lines.append(
            "streams: "
            + ", ".join(f"{rpc} {counts['open']} open / {counts['ended']} ended" for rpc, counts in streams.items())
        )
    commands = report["commands"]
    if commands:
        header = ("COMMAND", *(column.upper().replace("_MS", " ms") for column in COLUMNS))
        rows = [header] + [(name, *(f"{stats[c]:g}" for c in COLUMNS)) for name, stats in commands.items()]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines.append("")
        for row in rows:
            cells = [row[0].ljust(widths[0])] + [cell.rjust(widths[i + 1]) for i, cell in enumerate(row[1:])]
            lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
