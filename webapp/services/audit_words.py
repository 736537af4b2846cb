"""Audit actions in words for the staff audit log ("printed the summary", not
``patient.print``). The code stays beside the words in the log (filtering uses it)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

# In the staff language (English ids, nb/nn catalogues); an action not listed is shown
# as its code.
ACTION_WORDS = {
    "patient.search": _l("searched for a patient"),
    "patient.view": _l("opened the patient page"),
    "patient.print": _l("printed the summary"),
    "response.view": _l("looked at the answers"),
    "response.submit": _l("sent in answers"),
    "response.import": _l("imported answers"),
    "response.import.dry_run": _l("tried an import of answers (nothing stored)"),
    "response.import.refused": _l("import of answers refused"),
    "enrolment.create": _l("enrolled the patient in a protocol"),
    "invitation.issue": _l("made a new invitation link"),
    "export.create": _l("made an export"),
    "scores.cli": _l("fetched scores on the command line"),
    "scores.verify": _l("checked stored scores"),
    "register.load": _l("loaded the register set-up"),
    "register.withdraw": _l("withdrew the patient from the register"),
    "consent.record": _l("recorded consent"),
    "patient.phone.set": _l("saved the SMS phone number"),
    "patient.phone.remove": _l("removed the SMS phone number"),
    "register.reinstate": _l("reinstated the patient in the register"),
    "register.withdrawals.view": _l("looked at the register's withdrawals"),
    "api_token.create": _l("created an API key"),
    "api_token.revoke": _l("revoked an API key"),
}


def action_words(action: str) -> str:
    """The words for an audit ``action`` (the code itself when none are written)."""
    return str(ACTION_WORDS.get(action, action))
