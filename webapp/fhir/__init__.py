"""The FHIR R4 API (``/fhir``): CapabilityStatement, Questionnaire, QuestionnaireResponse.

Access by bearer tokens issued per register (``flask create-api-token``), never by a
staff session cookie; CSRF does not apply (no cookie is trusted). See docs/fhir-api.md.
"""

from flask import Blueprint

bp = Blueprint("fhir", __name__)

from webapp.fhir import views  # noqa: E402,F401
