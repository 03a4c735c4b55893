"""What reports draw: SVG charts written directly (no layout engine), and the SLO report's detection charts."""
