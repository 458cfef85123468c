"""Triage's data as the running bot reads it: the rules and the second opinion, from the
package's files, each loaded once (the loaders keep what they read)."""

from __future__ import annotations

from bot.domain.triage import SecondOpinion
from bot.domain.triage_lexicon import Lexicon
from bot.triage_rules import load_lexicon
from bot.triage_second_opinion import second_opinion


class LoadedTriage:
    """``TriageData`` (``bot.services.policy``) over the package's rule and model files."""

    def lexicon(self, locale: str | None) -> Lexicon:
        """The compiled rules of ``locale``."""
        return load_lexicon(locale)

    def second_opinion(self) -> SecondOpinion | None:
        """The second opinion's models."""
        return second_opinion()
