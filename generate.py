#!/usr/bin/env python3
"""Thin entry point: `python generate.py [args]` is `python -m obsgen generate [args]`."""
import sys

from obsgen.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["generate", *sys.argv[1:]]))
