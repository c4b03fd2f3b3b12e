"""The presentation layer: every HTML page and figure is rendered here."""
