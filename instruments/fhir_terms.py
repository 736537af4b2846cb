"""Names shared by the FHIR export and import: URLs, openprom extensions, errors."""

from __future__ import annotations

TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
ITEM_CONTROL = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
ITEM_CONTROL_SYSTEM = "http://hl7.org/fhir/questionnaire-item-control"
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"

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

# itemControl code of a child display item -> what it holds for its parent item
CHILD_CONTROLS = {"help": "help", "lower": "min", "upper": "max"}
ANCHOR_CONTROLS = {"min": "lower", "max": "upper"}


class FhirImportError(ValueError):
    """A Questionnaire cannot be turned into a definition; the message says why and where."""


class FhirImportWarning(UserWarning):
    """Something in a Questionnaire was dropped or replaced by a placeholder on import."""
