"""The parse cache: each facts file parsed once per content (and per version of the reader's code), and the index of
the existing facts kept once per state of the facts folder."""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path

from ..facts import (Claim, Entity, Facts, FactsError, Source, check_entity_links, load_dataset_file,
                     load_entity_file, load_facts, load_source_file)


@dataclass
class FactsIndex:
    """Which sources name which entities, so that a new file's context is found without reading every source:
    entity id -> ids of the sources with a claim about it (``subjects``), or naming it in any role (``mentions``)."""

    subjects: dict[str, tuple[str, ...]]
    mentions: dict[str, tuple[str, ...]]
    # What check_entity_links finds in the existing entities (None: not looked yet). A change that leaves the entity
    # files alone leaves these findings alone, so it is checked once per state of the facts folder, not per file.
    entity_link_errors: tuple[FactsError, ...] | None = None
    state: str = ""  # with a parse cache: the SHA-256 of the keys of every entity and source file (its entry's name)

    def link_errors(self, facts: Facts) -> list[FactsError]:
        """check_entity_links of ``facts``'s entities (the facts this index was made of), found once."""
        if self.entity_link_errors is None:
            errors: list[FactsError] = []
            check_entity_links(Facts(facts.dataset, facts.entities, {}), errors)
            self.entity_link_errors = tuple(errors)
        return list(self.entity_link_errors)

    @classmethod
    def of(cls, facts: Facts) -> "FactsIndex":
        subjects: dict[str, dict[str, None]] = {}
        mentions: dict[str, dict[str, None]] = {}
        for source_id in sorted(facts.sources):
            for claim in facts.sources[source_id].claims:
                subjects.setdefault(claim.subject, {})[source_id] = None
                for entity_id in _named(claim):
                    mentions.setdefault(entity_id, {})[source_id] = None
        return cls({k: tuple(v) for k, v in subjects.items()}, {k: tuple(v) for k, v in mentions.items()})


def _named(claim: Claim) -> list[str]:
    return [claim.subject, *([claim.object] if claim.object else []), *claim.entity_qualifiers.values()]


class SourceRecords(Mapping):
    """Source id -> Source, each read (from the parse cache) the first time it is asked for: validating one file
    reads the sources its context needs, not all of them."""

    def __init__(self, loaders: dict) -> None:
        self._loaders = loaders
        self._loaded: dict[str, Source] = {}

    def __getitem__(self, source_id: str) -> Source:
        if source_id not in self._loaded:
            self._loaded[source_id] = self._loaders[source_id]()
        return self._loaded[source_id]

    def __contains__(self, source_id: object) -> bool:
        return source_id in self._loaders

    def __iter__(self):
        return iter(self._loaders)

    def __len__(self) -> int:
        return len(self._loaders)


@lru_cache(maxsize=1)
def code_digest() -> str:
    """Parsed records depend on the reader's code as well as on the file: both go into the cache key."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]
    modules = [package / name for name in ("facts.py", "model.py", "yamlfile.py", "sources.py", "suggest.py")]
    for module in [*modules, *sorted(Path(__file__).resolve().parent.glob("*.py"))]:
        if module.is_file():
            digest.update(module.name.encode() + b"\0" + module.read_bytes())
    return digest.hexdigest()[:16]


@lru_cache(maxsize=1)
def package_digest() -> str:
    """What a validation's findings depend on besides its inputs: all of mrkg's code and the versions of the
    libraries that check (a cached result is a result of this code)."""
    from importlib.metadata import version

    digest = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]
    for module in sorted(package.rglob("*.py")):
        digest.update(str(module.relative_to(package)).encode() + b"\0" + module.read_bytes())
    for dist in ("rdflib", "pyshacl", "pyoxigraph", "pyyaml"):
        digest.update(f"{dist} {version(dist)}\n".encode())
    return digest.hexdigest()[:16]


def _cache_key(raw: bytes, name: str, loader) -> str:
    return hashlib.sha256(raw + name.encode() + loader.__name__.encode() + code_digest().encode()).hexdigest()


def read_pickle(entry: Path):
    # The collector is held off while the objects are made: it would walk the new ones again and again, all live.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.loads(entry.read_bytes())
    except (OSError, pickle.PickleError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        return None
    finally:
        if enabled:
            gc.enable()


def write_pickle(cache_dir: Path, entry: Path, value) -> None:
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".entry-", dir=cache_dir)
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, entry)
    except OSError:
        pass  # a cache that cannot be written is only slower


def _cached(cache_dir: Path | None, path: Path, name: str, loader):
    """``loader(path, name, errors)``, remembered by the SHA-256 of the file (a pickle we wrote ourselves)."""
    if cache_dir is None:
        return loader(path, name, [])
    entry = cache_dir / f"{_cache_key(path.read_bytes(), name, loader)}.pickle"
    value = read_pickle(entry)
    if value is None:
        value = loader(path, name, [])
        write_pickle(cache_dir, entry, value)
    return value


def load_facts_cached(facts_dir: Path, cache_dir: Path | None) -> Facts:
    """The existing facts as load_facts reads them (first definition wins), each file parsed once per content;
    with a cache, each source is read when it is first asked for."""
    return load_context_facts(facts_dir, cache_dir)[0]


INDEX_ENTRIES_KEPT = 8


def load_context_facts(facts_dir: Path, cache_dir: Path | None) -> tuple[Facts, FactsIndex]:
    """The existing facts (as load_facts reads them: first definition wins) and their FactsIndex.

    With a cache, each file is parsed once per content, and the entities, the source ids and the index are kept in one
    entry per state of the facts folder: an unchanged folder costs a SHA-256 of each file and one small pickle; the
    sources themselves are read when first asked for (SourceRecords)."""
    if cache_dir is None:
        facts = load_facts(facts_dir)[0]
        return facts, FactsIndex.of(facts)
    root = facts_dir.parent
    dataset = load_dataset_file(facts_dir / "dataset.yaml", str((facts_dir / "dataset.yaml").relative_to(root)), [])
    entity_files = [(p, str(p.relative_to(root))) for p in sorted((facts_dir / "entities").glob("*.yaml"))]
    source_files = [(p, str(p.relative_to(root))) for p in sorted((facts_dir / "sources").glob("*.yaml"))]
    keys = _file_keys(cache_dir, facts_dir, [(path, name, load_entity_file) for path, name in entity_files]
                      + [(path, name, load_source_file) for path, name in source_files])
    state = hashlib.sha256("\n".join(f"{n} {k}" for n, k in keys.items()).encode()).hexdigest()
    entry = cache_dir / f"index-{state}.pickle"
    stored = read_pickle(entry)
    if stored is None:
        entities: dict[str, Entity] = {}
        for path, name in entity_files:
            for entity in _cached(cache_dir, path, name, load_entity_file):
                if entity.id:
                    entities.setdefault(entity.id, entity)
        sources: dict[str, Source] = {}
        files: dict[str, tuple[Path, str]] = {}
        for path, name in source_files:
            source = _cached(cache_dir, path, name, load_source_file)
            if source is not None and source.id and source.id not in sources:
                sources[source.id], files[source.id] = source, (path, name)
        index = FactsIndex.of(Facts(dataset, entities, sources))
        index.link_errors(Facts(dataset, entities, {}))
        stored = (entities, files, index)
        write_pickle(cache_dir, entry, stored)
        old = sorted(cache_dir.glob("index-*.pickle"), key=lambda p: p.stat().st_mtime)
        for path in old[:-INDEX_ENTRIES_KEPT]:
            path.unlink(missing_ok=True)
    entities, files, index = stored
    index.state = state
    loaders = {sid: partial(_cached, cache_dir, path, name, load_source_file) for sid, (path, name) in files.items()}
    return Facts(dataset, entities, SourceRecords(loaders)), index


RACY_SECONDS = 3  # a file changed this close to the writing of the memo is read again (coarse file-system clocks)


def _file_keys(cache_dir: Path, facts_dir: Path, files: list[tuple[Path, str, object]]) -> dict[str, str]:
    """name -> _cache_key of each file. The SHA-256 of a file is remembered with its size, mtime, ctime and inode (as
    git's index does) and taken again only when one of them moved, or when the file had changed within RACY_SECONDS
    of the memo's writing (so that a later change in the same clock tick cannot hide); a rewrite changes the ctime,
    which no program can set back."""
    memo_entry = cache_dir / f"stat-{hashlib.sha256(f'{facts_dir.resolve()} {code_digest()}'.encode()).hexdigest()}.pickle"
    stored = read_pickle(memo_entry)
    written, memo = stored if isinstance(stored, tuple) and len(stored) == 2 else (0, {})
    trusted_before = written - RACY_SECONDS * 1_000_000_000
    keys: dict[str, str] = {}
    fresh: dict[str, tuple] = {}
    changed = False
    for path, name, loader in files:
        st = path.stat()
        signature = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
        known = memo.get(name)
        if known is not None and known[:4] == signature and max(st.st_mtime_ns, st.st_ctime_ns) < trusted_before:
            keys[name] = known[4]
        else:
            keys[name] = _cache_key(path.read_bytes(), name, loader)
            changed = True
        fresh[name] = (*signature, keys[name])
    if changed or len(fresh) != len(memo):
        write_pickle(cache_dir, memo_entry, (time.time_ns(), fresh))
    return keys


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mrkg" / "facts"

