"""Foundations every other kind builds on: errors, typed config, artefact types, file I/O, keys."""
