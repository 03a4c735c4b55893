"""The pipeline: compile (model -> artifacts), the output layout, the writer, validation with the
real tools, and the alert report. Imports core/, model/, spec/ and the targets; never remote/ or
the CLI."""
