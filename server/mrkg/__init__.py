"""mrkg: the muscle-relaxant knowledge graph (facts in YAML, RDF dumps, SPARQL endpoint)."""

__version__ = "0.1.0"
