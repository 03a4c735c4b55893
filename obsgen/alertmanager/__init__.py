"""Alertmanager target: routing tree, receivers, inhibitions, and the routing cases amtool checks.

Pure; imports core/ and model/.
"""
