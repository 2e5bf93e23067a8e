"""An earlier revision of this repository beside the working tree, for benches that run both.

The revision is checked out into a temporary git worktree and removed afterwards.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def checked_out(revision: str, where: Path) -> Iterator[Path]:
    """`revision` checked out at `where` for the block; yields its `src` directory."""
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(where), revision],
        check=True,
    )
    try:
        yield where / "src"
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(where)], check=False
        )
