"""Tests against the emulated account: the real ASL in moto's interpreter, the handlers in-process, the CLI."""
