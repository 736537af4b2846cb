"""Conversion between instrument definitions and HL7 FHIR R4 ``Questionnaire`` resources.

:func:`to_questionnaire` writes a plain R4 Questionnaire (core elements and core R4
extensions only, so generic tools such as helsenorge's structor and refero open it). What
FHIR has no element for travels in a few ``urn:openprom:fhir:*`` extensions, so that
:func:`from_questionnaire` restores the definition exactly. A Questionnaire made by
another tool imports as far as openprom can represent it; anything else raises
:class:`FhirImportError` naming the ``linkId``. See ``docs/instrument-format.md``.
"""

from instruments.fhir_export import to_questionnaire
from instruments.fhir_import import dump_definition, from_questionnaire, from_questionnaire_file
from instruments.fhir_terms import (
    EXT,
    TRANSLATION,
    URL_PREFIX,
    FhirImportError,
    FhirImportWarning,
)

__all__ = [
    "EXT",
    "TRANSLATION",
    "URL_PREFIX",
    "FhirImportError",
    "FhirImportWarning",
    "dump_definition",
    "from_questionnaire",
    "from_questionnaire_file",
    "to_questionnaire",
]
