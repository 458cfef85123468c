"""Flags: a worrying reply passed on to the practitioner, its alert and escalation, and
the practitioner's Acknowledge, History and Reply."""
