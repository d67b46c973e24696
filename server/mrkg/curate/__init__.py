"""The curator's workflow: validate new facts in the context of the graph (`mrkg validate`), and add them (`mrkg add`).

A new file is read with the same code the build uses (facts.py, rdf.py, conflicts.py). Only the nodes it adds are
validated, against a small data graph (assembly.py). The parts, each importing only those before it:

- intake.py      classify and read one input, refuse unusable input with one line (InputError)
- rdf_claims.py  curator RDF read back into facts records (conflict detection)
- context.py     the existing facts and what they are checked against, with indexes
- cache.py       the parse cache (per file content) and the index per state of facts/
- report.py      facts errors as results, locations, rendering
- assembly.py    the data graph for a change
- validation.py  validate a change, or all the facts
- add.py         `mrkg add`'s transaction
- cli.py         the click commands

The build never imports this package (tests/test_imports.py).
"""

from ..conformance import validate_dataset, validation_graph
from .add import add_file, add_files
from .cache import default_cache_dir, load_context_facts, load_facts_cached
from .context import Context, _schema_triples
from .intake import InputError
from .rdf_claims import claims_from_graph
from .validation import validate_all, validate_change, validate_files

__all__ = ["Context", "_schema_triples", "InputError", "add_file", "add_files", "claims_from_graph", "default_cache_dir", "load_context_facts",
           "load_facts_cached", "validate_all", "validate_change", "validate_dataset", "validate_files", "validation_graph"]
