"""Specs: the input files' schema (pydantic), YAML with line numbers, loading and cross-checks.

Produces the typed model (`load_project`) and `SpecError`s naming file, line and field; nothing
else. Imports core/ and model/.
"""
