"""Names shared by the FHIR export and import: URLs, openprom extensions, errors."""

from __future__ import annotations

TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
ITEM_CONTROL = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
ITEM_CONTROL_SYSTEM = "http://hl7.org/fhir/questionnaire-item-control"
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
ITEM_WEIGHT = "http://hl7.org/fhir/StructureDefinition/itemWeight"
# Older names of the weight extension (STU3 questionnaire-ordinalValue, valueset-ordinalValue).
ORDINAL_ALIASES = (
    ORDINAL_VALUE,
    ITEM_WEIGHT,
    "http://hl7.org/fhir/StructureDefinition/questionnaire-ordinalValue",
    "http://hl7.org/fhir/StructureDefinition/valueset-ordinalValue",
)
UNIT = "http://hl7.org/fhir/StructureDefinition/questionnaire-unit"
CALCULATED = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"
SDF_CALCULATED = "http://ehelse.no/fhir/StructureDefinition/sdf-calculatedExpression"
RENDERING_MARKDOWN = "http://hl7.org/fhir/StructureDefinition/rendering-markdown"
RENDERING_XHTML = "http://hl7.org/fhir/StructureDefinition/rendering-xhtml"

URL_PREFIX = "urn:openprom:questionnaire:"
HASH_SYSTEM = "urn:openprom:content-hash"
EXT = "urn:openprom:fhir:"
EXT_KIND = EXT + "kind"  # valueCode: prom | prem
EXT_LANGUAGES = EXT + "languages"  # valueString: JSON list, in the file's order
EXT_SOURCE = EXT + "source"  # valueString: JSON text {lang: string}
EXT_LICENCE = EXT + "licence"  # valueString: JSON {holder, url, required}; notice = copyright
EXT_SCALES = EXT + "scales"  # valueString: JSON list of scales as in the file
EXT_SCORING = EXT + "scoring"  # valueString: JSON scoring block as in the file
EXT_ITEM_ORDER = EXT + "item-order"  # valueString: JSON list, when pages reorder the items
EXT_PAGE_ID = EXT + "page-id"  # valueString on a group whose linkId is not the page id
EXT_NOT_APPLICABLE = EXT + "not-applicable"  # valueBoolean on an answerOption
EXT_HELP = EXT + "help"  # valueString: JSON text, help of a display item
EXT_ANCHORS = EXT + "anchors"  # valueString: JSON {min|max: text}, anchors of a display item
EXT_INSTRUMENT_ID = EXT + "instrument-id"  # valueString: the definition's id (imported files)
EXT_VERSION = EXT + "version"  # valueString: the definition's version when FHIR had none
EXT_ITEM_ID = EXT + "item-id"  # valueString: the item id when it is not made from the linkId
EXT_STEP_ADDED = EXT + "step-added"  # valueBoolean: itemControl step added for Helsenorge
EXT_NO_ID = EXT + "no-id"  # valueBoolean: the imported file had no resource id
EXT_RESOURCE_ID = EXT + "resource-id"  # valueString: the imported file's id (one per language)
EXT_NO_LANGUAGE = EXT + "no-language"  # valueBoolean: the imported file named no language
EXT_SLIDER_OF = EXT + "slider-of"  # valueString: JSON {type, min, max, item_control} of a VAS
SLIDER_LABELS = "http://helsenorge.no/fhir/CodeSystem/SliderLabels"
SLIDER_DISPLAY_TYPE = "http://helsenorge.no/fhir/CodeSystem/SliderDisplayType"

# itemControl code of a child display item -> what it holds for its parent item
CHILD_CONTROLS = {"help": "help", "lower": "min", "upper": "max"}
ANCHOR_CONTROLS = {"min": "lower", "max": "upper"}


class FhirImportError(ValueError):
    """A Questionnaire cannot be turned into a definition.

    ``problems`` lists every problem found (each names its linkId); the message joins them.
    """

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = problems if problems is not None else [message]
        super().__init__(message)


class FhirImportWarning(UserWarning):
    """Something in a Questionnaire was dropped or replaced by a placeholder on import."""
