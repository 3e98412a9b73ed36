"""sitegen: turn one clinical trial's YAML and BibTeX into an accessible static website."""

__version__ = "0.1.0"
