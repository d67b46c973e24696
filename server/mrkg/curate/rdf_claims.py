"""Curator RDF read back into facts records (for conflict detection): the one place that knows how a claim's fields
are written in RDF. New claim fields (polarity, certainty, values...) are read here."""

from __future__ import annotations

from decimal import Decimal

from rdflib import Graph, Literal
from rdflib.namespace import PROV, RDF
from rdflib.term import Node

from ..facts import Claim, Value
from ..model import ENTITY_QUALIFIERS, ENUM_QUALIFIERS, KINDS, STATISTIC_TYPES, VALUE_PROPERTY
from ..namespaces import CLAIM, ENT, MRKG, SRC
from ..rdf import read_meaning, read_value_form


def claims_from_graph(graph: Graph) -> list[Claim]:
    """The claims of curator RDF as facts records, as far as conflict detection needs them."""
    by_class = {MRKG[k.claim_class]: name for name, k in KINDS.items()}
    qualifier = {MRKG[prop]: key for key, (prop, _) in ENTITY_QUALIFIERS.items()}
    enums = {MRKG[prop]: (key, {MRKG[v]: k for k, v in choices.items()}) for key, (prop, choices) in ENUM_QUALIFIERS.items()}
    claims = []
    for node in sorted(set(graph.subjects(RDF.type, MRKG.Claim)), key=str):
        kinds = [by_class[t] for t in graph.objects(node, RDF.type) if t in by_class]
        source = graph.value(node, PROV.wasDerivedFrom)
        subject, predicate = graph.value(node, MRKG.subject), graph.value(node, MRKG.predicate)
        if len(kinds) != 1 or source is None or subject is None or predicate is None:
            continue
        full_id = str(node).removeprefix(str(CLAIM))
        source_id = str(source).removeprefix(str(SRC))
        claim = Claim(source_id, full_id.removeprefix(f"{source_id}-"), kinds[0], str(subject).removeprefix(str(ENT)),
                      str(predicate).removeprefix(str(MRKG)), str(graph.value(node, MRKG.quote) or ""))
        claim.negated = graph.value(node, MRKG.polarity) == MRKG.Negated
        obj = graph.value(node, MRKG.object)
        kind = KINDS[kinds[0]]
        if kind.value is not None and obj is not None:
            claim.value = _value_from_graph(graph, obj, kind.value)
        elif obj is not None:
            claim.object = str(obj).removeprefix(str(ENT))
        for prop, value in graph.predicate_objects(node):
            if prop in qualifier:
                claim.entity_qualifiers[qualifier[prop]] = str(value).removeprefix(str(ENT))
            elif prop in enums and value in enums[prop][1]:
                claim.enum_qualifiers[enums[prop][0]] = enums[prop][1][value]
        for key, prop in VALUE_PROPERTY.items():
            value_node = graph.value(node, MRKG[prop])
            if value_node is not None:
                claim.values[key] = _value_from_graph(graph, value_node, key)
        read_meaning(graph, node, claim)  # cues and their types, scope, use status, manner, due_to...
        claims.append(claim)
    return claims


def _value_from_graph(graph: Graph, node: Node, shape: str) -> Value:
    names = {"min": MRKG.minValue, "max": MRKG.maxValue, "amount": MRKG.amount, "times_per_day": MRKG.timesPerDay,
             "daily_total": MRKG.dailyTotal, "estimate": MRKG.estimate, "ci_lower": MRKG.ciLower,
             "ci_upper": MRKG.ciUpper, "ci_level": MRKG.ciLevel}
    numbers = {}
    for key, prop in names.items():
        lit = graph.value(node, prop)
        if isinstance(lit, Literal):
            try:
                numbers[key] = Decimal(str(lit))
            except ArithmeticError:
                pass
    unit = graph.value(node, MRKG.unit)
    value = Value(shape, str(graph.value(node, MRKG.originalText) or ""), numbers, str(unit) if unit else None)
    value.max_exclusive = graph.value(node, MRKG.maxExclusive) == Literal(True)
    stat = graph.value(node, MRKG.statisticType)
    value.statistic_type = next((k for k, v in STATISTIC_TYPES.items() if MRKG[v] == stat), None)
    return read_value_form(graph, node, value)  # bound, approximate

