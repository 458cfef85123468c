"""The single-instance guard: one process per SQLite file, none needed for PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.db.engine import create_engine
from bot.db.errors import DatabaseInUseError, DatabaseUnavailableError
from bot.db.lock import acquire_instance_lock
from bot.db.migrate import upgrade
from bot.db.uow import make_uow_factory
from tests.integration import records

REPO_ROOT = Path(__file__).resolve().parents[2]

# Tries to take the lock and reports what happened; exit status 3 means "in use".
TRY_LOCK = """
import sys
from bot.db.errors import DatabaseInUseError, DatabaseUnavailableError
from bot.db.lock import acquire_instance_lock
try:
    with acquire_instance_lock(sys.argv[1]):
        print("acquired")
except DatabaseInUseError as exc:
    print(exc)
    sys.exit(3)
"""


def try_lock_in_subprocess(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", TRY_LOCK, url],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_second_holder_in_the_same_process_is_refused(tmp_path: Path) -> None:
    database = tmp_path / "stillpoint.sqlite3"
    url = f"sqlite:///{database}"
    with acquire_instance_lock(url) as first:
        assert first.held
        assert first.path == tmp_path / "stillpoint.sqlite3.lock"
        with pytest.raises(DatabaseInUseError) as raised:
            acquire_instance_lock(url)
        assert str(raised.value) == (
            f"another Stillpoint process is already using {database}; "
            "stop it first or use PostgreSQL for more than one process"
        )
    assert not first.held
    # Released: the next process may start.
    with acquire_instance_lock(url) as again:
        assert again.held


async def test_another_process_is_refused_and_the_data_is_intact(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'stillpoint.sqlite3'}"
    with acquire_instance_lock(url):
        await upgrade(url)
        engine = create_engine(url)
        try:
            async with make_uow_factory(engine)() as uow:
                practitioner, client = await records.practitioner_and_client(uow)
                await uow.commit()

            refused = try_lock_in_subprocess(url)
            assert refused.returncode == 3, refused.stderr
            assert "another Stillpoint process is already using" in refused.stdout
            assert "Traceback" not in refused.stderr

            async with make_uow_factory(engine)() as uow:
                assert await uow.practitioners.get(practitioner.id) == practitioner
                assert await uow.clients.get(client.id) == client
        finally:
            await engine.dispose()

    allowed = try_lock_in_subprocess(url)
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.strip() == "acquired"


def test_a_lock_held_by_another_process_refuses_this_one(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'stillpoint.sqlite3'}"
    holder = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [
            sys.executable,
            "-c",
            "import sys; from bot.db.lock import acquire_instance_lock\n"
            "with acquire_instance_lock(sys.argv[1]):\n"
            "    print('held', flush=True); sys.stdin.read()",
            url,
        ],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(DatabaseInUseError):
            acquire_instance_lock(url)
    finally:
        holder.communicate(input="", timeout=60)
    assert holder.returncode == 0
    # The holder exited, so the kernel released its lock.
    with acquire_instance_lock(url) as lock:
        assert lock.held


@pytest.mark.parametrize("url", ["postgresql://root@127.0.0.1/stillpoint", "sqlite://"])
def test_no_lock_is_needed_without_a_file(url: str) -> None:
    with acquire_instance_lock(url) as first, acquire_instance_lock(url) as second:
        assert not first.held
        assert not second.held
        assert first.path is None


def test_release_is_idempotent(tmp_path: Path) -> None:
    lock = acquire_instance_lock(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    lock.release()
    lock.release()
    assert not lock.held


def test_a_lock_that_cannot_be_created_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(DatabaseUnavailableError, match="cannot open the SQLite database"):
        acquire_instance_lock(f"sqlite+aiosqlite:///{blocker}/bot.sqlite3")
