"""Tests of plain functions: no emulated account, no moto; `make unit` runs them in seconds."""
