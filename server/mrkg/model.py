"""What a facts file may say: entity types, claim kinds, qualifiers and value shapes, with their RDF terms."""

from __future__ import annotations

from dataclasses import dataclass, field

from .namespaces import MRKG

ENTITY_TYPES: dict[str, str] = {
    # YAML type -> ontology class (local name)
    "drug": "Drug",
    "drug-class": "DrugClass",
    "substance": "Substance",
    "target": "Target",
    "condition": "Condition",
    "adverse-effect": "AdverseEffect",
    "dosage-form": "DosageForm",
    "route": "Route",
    "anatomical-site": "AnatomicalSite",
    "mechanism": "Mechanism",
    "population": "Population",
    "brand": "Brand",
    "organization": "Organization",
    "clinical-context": "ClinicalContext",
    "intervention": "Intervention",
    "regulatory-status": "RegulatoryStatus",
    "clinical-parameter": "ClinicalParameter",
}

AGENTS = frozenset({"drug", "drug-class", "substance", "intervention"})


@dataclass(frozen=True)
class Kind:
    claim_class: str
    predicate: str
    objects: frozenset[str] = frozenset()  # entity types the object may have
    value: str | None = None  # or: the object is a value of this shape
    other_predicates: frozenset[str] = frozenset()
    subjects: frozenset[str] = AGENTS

    @property
    def predicates(self) -> frozenset[str]:
        return frozenset({self.predicate}) | self.other_predicates


def _k(cls: str, pred: str, objects=(), value=None, other=(), subjects=AGENTS) -> Kind:
    return Kind(cls, pred, frozenset(objects), value, frozenset(other), frozenset(subjects))


KINDS: dict[str, Kind] = {
    "drug-class": _k("DrugClassClaim", "memberOfClass", {"drug-class"}),
    "mechanism": _k("MechanismClaim", "hasMechanism", {"mechanism"}),
    "site-of-action": _k("SiteOfActionClaim", "actsAt", {"anatomical-site"}),
    "target": _k("TargetClaim", "hasTarget", {"target"}),
    "indication": _k("IndicationClaim", "isIndicatedFor", {"condition"}),
    "off-label-use": _k("OffLabelUseClaim", "hasOffLabelUse", {"condition"}),
    "contraindication": _k("ContraindicationClaim", "isContraindicatedWith",
                           {"condition", "drug", "drug-class", "substance", "population"}),
    "adverse-effect": _k("AdverseEffectClaim", "hasAdverseEffect", {"adverse-effect", "condition"}),
    "withdrawal": _k("WithdrawalClaim", "hasWithdrawalEffect", {"adverse-effect", "condition"}),
    "dose": _k("DoseClaim", "hasDose", value="dose"),
    "strength": _k("StrengthClaim", "hasStrength", value="strength"),
    "dosage-form": _k("DosageFormClaim", "hasDosageForm", {"dosage-form"}),
    "route": _k("RouteClaim", "hasRoute", {"route"}),
    "duration": _k("DurationClaim", "hasDurationOfUse", value="duration"),
    "onset": _k("OnsetClaim", "hasOnset", value="duration"),
    "interaction": _k("InteractionClaim", "interactsWith", {"drug", "drug-class", "substance"}),
    "population-caution": _k("PopulationCautionClaim", "hasCautionFor", {"population", "condition"}),
    "dose-adjustment": _k("DoseAdjustmentClaim", "requiresDoseAdjustmentFor", {"condition"}),
    "elimination": _k("EliminationClaim", "isEliminatedBy", {"anatomical-site"}),
    "efficacy": _k("EfficacyClaim", "isEffectiveFor", {"condition"}),
    "recommendation": _k("RecommendationClaim", "isRecommendedFor", {"condition"}),
    "brand-name": _k("BrandNameClaim", "hasBrandName", {"brand"}),
    "structural-similarity": _k("StructuralSimilarityClaim", "isStructurallySimilarTo",
                                {"drug", "drug-class", "substance"}, other={"isDerivativeOf"}),
    "risk": _k("RiskClaim", "hasRiskOf", {"adverse-effect", "condition"}),
    "history": _k("HistoryClaim", "hasHistory", value="time"),
    "regulatory-status": _k("RegulatoryStatusClaim", "hasRegulatoryStatus", {"regulatory-status"}),
    "combination": _k("CombinationClaim", "isUsedWith", {"intervention", "drug", "drug-class"}),
    "tapering": _k("TaperingClaim", "requiresTaperingToAvoid", {"adverse-effect", "condition"}),
    "drug-comparison": _k("DrugComparisonClaim", "hasSameMechanismAs", {"drug", "drug-class"},
                          other={"isInterchangeableWith"}),
    "titration": _k("TitrationClaim", "hasTitration", value="duration"),
    "symptom": _k("SymptomClaim", "hasSymptom", {"adverse-effect", "condition"},
                  subjects={"adverse-effect", "condition"}),
    "monitoring": _k("MonitoringClaim", "requiresMonitoringOf", {"clinical-parameter", "adverse-effect", "condition"}),
}

# Qualifiers whose value is an entity id: YAML key -> (ontology property, allowed entity types)
ENTITY_QUALIFIERS: dict[str, tuple[str, frozenset[str]]] = {
    "population": ("population", frozenset({"population", "condition"})),
    "comparator": ("comparator", frozenset({"drug", "drug-class", "substance", "intervention"})),
    "route": ("route", frozenset({"route"})),
    "dosage_form": ("dosageForm", frozenset({"dosage-form"})),
    "context": ("context", frozenset({"clinical-context"})),
    "condition": ("condition", frozenset({"condition"})),
    "outcome": ("outcome", frozenset({"adverse-effect", "condition"})),
    "issuer": ("issuer", frozenset({"organization"})),
}

# Qualifiers whose value is one of a closed set of ontology individuals
ENUM_QUALIFIERS: dict[str, tuple[str, dict[str, str]]] = {
    "target_action": ("targetAction", {"agonist": "Agonist", "antagonist": "Antagonist",
                                       "positive-modulator": "PositiveModulator"}),
    "dose_type": ("doseType", {"starting": "StartingDose", "usual": "UsualDose", "maximum": "MaximumDose"}),
    "comparison": ("comparison", {"higher": "Higher", "lower": "Lower", "similar": "Similar",
                                  "different": "Different"}),
    "negation_scope": ("negationScope", {"statement": "StatementScope", "manner": "MannerScope",
                                         "comparison": "ComparisonScope", "degree": "DegreeScope"}),
    "use_status": ("useStatus", {"approved": "Approved", "off-label": "OffLabel",
                                 "investigational": "Investigational", "established": "EstablishedUse"}),
}

# The kinds a use_status fits (uses of a drug)
USE_KINDS = frozenset({"indication", "off-label-use", "efficacy", "recommendation"})

# Cue fields: the source's words (in the quote), each typed by its closed lexicon in ontology/lexicon.ttl
# (see mrkg.lexicon for their RDF properties). `hedge` alone makes a claim mrkg:Hedged.
CUE_FIELD_NAMES = ("hedge", "modality", "frequency_term", "advice", "evidence_level", "primacy", "severity")
# (evidence_level stays a text qualifier too: its words, in TEXT_QUALIFIERS, and its grade, from the lexicon)

# due_to: entity ids, the underlying cause or disease of the object (RDF mrkg:dueTo)
DUE_TO_TYPES = frozenset({"condition", "adverse-effect", "substance", "drug", "drug-class", "intervention",
                          "clinical-context", "population"})

# Qualifiers whose value is the source's own words (must occur in the quote)
TEXT_QUALIFIERS: dict[str, str] = {
    "evidence_level": "evidenceLevel",
    "line_of_therapy": "lineOfTherapy",
    "magnitude": "magnitude",
    "manner": "manner",
    "conditional": "conditionalText",
}

# Value forms every value may take besides its numbers
VALUE_BOUNDS = {"upper": "UpperBound", "lower": "LowerBound"}

UCUM_UNITS = frozenset({"mg", "g", "ug", "mL", "%", "1", "min", "h", "d", "wk", "mo", "a"})


@dataclass(frozen=True)
class ValueShape:
    rdf_class: str
    numbers: frozenset[str]
    units: frozenset[str] | None = None  # None: no unit; else allowed units
    default_unit: str | None = None
    extra: frozenset[str] = field(default_factory=frozenset)


VALUE_SHAPES: dict[str, ValueShape] = {
    "frequency": ValueShape("Frequency", frozenset({"min", "max"}), frozenset({"%"}), "%",
                            frozenset({"term", "max_exclusive"})),
    "dose": ValueShape("Dose", frozenset({"amount", "times_per_day", "daily_total"}),
                       frozenset({"mg", "g", "ug", "mL"})),
    "strength": ValueShape("Quantity", frozenset({"amount"}), frozenset({"mg", "g", "ug", "mL"}), "mg"),
    "duration": ValueShape("Duration", frozenset({"min", "max"}), frozenset({"min", "h", "d", "wk", "mo", "a"}),
                           None, frozenset({"max_exclusive"})),
    "time_window": ValueShape("Duration", frozenset({"min", "max"}), frozenset({"min", "h", "d", "wk", "mo", "a"})),
    "statistic": ValueShape("Statistic", frozenset({"estimate", "min", "max", "ci_lower", "ci_upper", "ci_level"}),
                            frozenset({"%", "1"}), None, frozenset({"type"})),
    "time": ValueShape("TimePoint", frozenset({"min", "max"}), frozenset({"a"}), None),
}

STATISTIC_TYPES = {
    "proportion-of-participants": "ProportionOfParticipants",
    "relative-likelihood": "RelativeLikelihood",
    "hazard-ratio": "HazardRatio",
    "subdistribution-hazard-ratio": "SubdistributionHazardRatio",
}

# Value qualifiers a claim may carry besides its object value
CLAIM_VALUES = ("frequency", "statistic", "time_window")

VALUE_PROPERTY = {"frequency": "frequency", "statistic": "statistic", "time_window": "timeWindow"}

DOCUMENT_TYPES = {
    "consumer-article": "ConsumerArticle",
    "clinical-summary": "ClinicalSummary",
    "ai-generated-summary": "AIGeneratedSummary",
}

MATCH_RELATIONS = {"exact": "exactMatch", "close": "closeMatch", "broad": "broadMatch",
                   "narrow": "narrowMatch", "related": "relatedMatch"}


def term(local: str):
    return MRKG[local]
