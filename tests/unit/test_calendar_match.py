"""Which client a calendar event names: full names, unique first names, never a guess."""

from __future__ import annotations

import pytest

from bot.domain.calendar_match import clients_named

CLIENTS = ["Anna Berg", "Anna Kohl", "Noël Dupré", "Ben Ólafsson", "Mary-Jane Watts"]


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("CST \u2013 Anna Berg", ["Anna Berg"]),
        ("anna kohl follow-up", ["Anna Kohl"]),
        ("Session noel dupre", ["Noël Dupré"]),  # accents and case do not matter
        ("Noël", ["Noël Dupré"]),  # a first name no one else has
        ("Ben (SER)", ["Ben Ólafsson"]),
        ("Mary-Jane, first visit", ["Mary-Jane Watts"]),
        ("Anna", []),  # two Annas: ask
        ("Annabel", []),  # a word that merely starts like a name
        ("Anna Berg and Ben Ólafsson, couple", ["Anna Berg", "Ben Ólafsson"]),  # several: ask
        ("Team meeting", []),
        ("", []),
    ],
)
def test_a_client_is_named_by_full_name_or_a_unique_first_name(text: str, named: list[str]) -> None:
    assert clients_named(text, CLIENTS, lambda name: name) == named
