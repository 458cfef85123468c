"""Updates side by side: one sender's updates in order, nobody waiting for anyone else."""

from __future__ import annotations

import asyncio

from telegram import Update

from bot.telegram.update_lanes import PerSenderUpdateProcessor, sender_of


def _update(update_id: int, user_id: int) -> Update:
    return Update.de_json(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 1_767_000_000,
                "chat": {"id": user_id, "type": "private", "first_name": "U"},
                "from": {"id": user_id, "is_bot": False, "first_name": "U"},
                "text": "hi",
            },
        },
        None,
    )


async def test_one_senders_updates_run_in_order_while_another_sender_is_not_held_up() -> None:
    processor = PerSenderUpdateProcessor()
    done: list[tuple[int, int]] = []
    release_slow = asyncio.Event()

    async def handle(update: Update, slow: bool) -> None:
        if slow:
            await release_slow.wait()
        done.append((sender_of(update) or 0, update.update_id))

    async with processor:
        tasks = [
            asyncio.create_task(processor.process_update(u, handle(u, slow=n == 0)))
            for n, u in enumerate([_update(1, 10), _update(2, 10), _update(3, 10)])
        ]
        other = asyncio.create_task(
            processor.process_update(_update(4, 20), handle(_update(4, 20), slow=False))
        )
        await other
        assert done == [(20, 4)]  # sender 20 went past sender 10's slow first update
        assert processor.lanes == 1
        release_slow.set()
        await asyncio.gather(*tasks)
    assert done == [(20, 4), (10, 1), (10, 2), (10, 3)]
    assert processor.lanes == 0


async def test_an_update_without_a_sender_runs_at_once() -> None:
    processor = PerSenderUpdateProcessor()
    ran = asyncio.Event()

    async def handle() -> None:
        ran.set()

    async with processor:
        await processor.process_update(object(), handle())
    assert ran.is_set()
    assert sender_of(object()) is None
