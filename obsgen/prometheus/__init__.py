"""Prometheus target: recording and alerting rules, and the promtool unit tests that prove them.

Pure builders: the typed model in, typed rules and test documents out. Imports core/ and model/.
"""
