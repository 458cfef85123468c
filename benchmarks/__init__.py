"""Benchmarks of the delivery engine, run against the Bot API emulator.

``python -m benchmarks <name> [options] --json`` prints one JSON object as its last line;
progress goes to stderr. See ``python -m benchmarks --help`` and the "Benchmarks" section
of the shared contracts. The emulator, not the bot's database, counts what each chat got.
"""
