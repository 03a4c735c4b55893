"""The pup.ai stand-in and the loopback stack that runs obsgen's output for real (make demo)."""
