"""Audit actions in words for the staff audit log ("printed the summary", not
``patient.print``). The code stays beside the words in the log (filtering uses it)."""

from __future__ import annotations

# Bokmål, as the rest of the audit page; an action not listed is shown as its code.
ACTION_WORDS = {
    "patient.search": "søkte etter en pasient",
    "patient.view": "åpnet pasientsiden",
    "patient.print": "skrev ut sammendraget",
    "response.view": "så på svarene",
    "response.submit": "sendte inn svar",
    "response.import": "importerte svar",
    "response.import.dry_run": "prøvde en import av svar (ingenting lagret)",
    "response.import.refused": "import av svar avvist",
    "enrolment.create": "registrerte pasienten i et forløp",
    "invitation.issue": "lagde en ny invitasjonslenke",
    "export.create": "laget et eksportuttrekk",
    "scores.cli": "hentet skårer på kommandolinjen",
    "scores.verify": "kontrollerte lagrede skårer",
    "register.load": "lastet inn registeroppsettet",
    "register.withdraw": "trakk pasienten ut av registeret",
    "consent.record": "registrerte samtykke",
    "api_token.create": "opprettet en API-nøkkel",
    "api_token.revoke": "trakk tilbake en API-nøkkel",
}


def action_words(action: str) -> str:
    """The words for an audit ``action`` (the code itself when none are written)."""
    return ACTION_WORDS.get(action, action)
