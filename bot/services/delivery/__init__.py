"""Delivery: the outbox, the dispatcher that sends what is due, pacing, and what follows
a send's outcome."""
