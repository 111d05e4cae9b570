"""PyTorch reproductions of He & Su (PNAS 2023) and Fang, He, Long & Su (PNAS 2021) with layerlaw.

Run from the repository root: ``python -m reproduce.law_fnn``, ``python -m reproduce.law_cnn``,
``python -m reproduce.minority_collapse`` (each with ``--quick`` and ``--help``).
"""
