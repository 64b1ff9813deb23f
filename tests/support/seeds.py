"""Where the seed documents are: ``shared/seeds/`` beside the checkout (CI lays a copy of shared/ there).

Tests that check our shapes against the seeds read them from here; the seed text is the judge, never our code.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.process import REPO

SEEDS = REPO.parent / "shared" / "seeds"
ENDUSER_API = SEEDS / "003_399fe5bf90dcba24.txt"  # the End-User API (the local API's contract)
BAGTOWER = SEEDS / "000_fe5cef112382d61b.txt"
AIRVANTAGE_V2 = SEEDS / "001_22a63c27e6ba656e.txt"
SMARTSOLAR = SEEDS / "002_63462f0228e2a7c0.txt"
AIRVANTAGE_V1 = SEEDS / "004_bc64ff73c4ccefb9.txt"


def seed_text(path: Path) -> str:
    """The seed's text; a clear failure (not a skip) if shared/ is not beside the checkout."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the seeds are expected in shared/seeds beside the checkout")
    return path.read_text(encoding="utf-8", errors="replace")
