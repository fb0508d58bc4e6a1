"""Fuzzing of every translator: seeded garbage interleaved with known valid input (bench/fuzz.py runs them big)."""
