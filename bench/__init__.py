"""Benchmarks (``make bench``). Importing the package gives every benchmark the project's settings and the insecure
development key unless the environment names others."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("BP_INSECURE_DEV_KEY", "1")
