"""Start the Streamlit app on a free loopback port for the browser tests (shared by test_browser and test_load)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ART = Path(__file__).resolve().parent / "artifacts"  # screenshots (gitignored)
CHROMIUM = "/usr/bin/chromium"  # Debian's; `playwright install` cannot download browsers here
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(env: dict, log_path: Path, timeout: float = 90) -> tuple[subprocess.Popen, str]:
    """`streamlit run app.py` on 127.0.0.1 (no telemetry); returns (process, base URL) once /_stcore/health answers."""
    import pytest

    port = free_port()
    with open(log_path, "wb") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                                 "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
                                 "--server.headless", "true"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(base + "/_stcore/health", timeout=2)
            return proc, base
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    pytest.fail("streamlit did not start: " + Path(log_path).read_text(errors="replace")[-2000:])
