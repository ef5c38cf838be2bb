"""SageStack benchmarks: every figure is a ratio against a baseline measured in the same run.

``python -m bench`` (or ``make bench``) writes bench/RESULTS.md and bench/results.png. The
machines this runs on are shared and noisy, so each figure is the median of repeats and the
baseline is measured next to it rather than remembered from another day.
"""
