"""Forms of the clinician pages (Flask-WTF: CSRF on every form)."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp, ValidationError

from webapp.national_id import InvalidNationalId, validate

TOTP_SECRET = re.compile(r"[A-Z2-7]{16,64}")  # base32, as auth.new_totp_secret() makes

NATIONAL_ID_ERRORS = {
    "length": "Et fødselsnummer har 11 siffer.",
    "non_digit": "Et fødselsnummer inneholder bare siffer.",
    "bad_date": "De seks første sifrene er ikke en gyldig fødselsdato.",
    "bad_check_digit": "Kontrollsifrene stemmer ikke. Sjekk om nummeret er skrevet riktig.",
}


class LoginForm(FlaskForm):
    """E-mail and password."""

    email = EmailField("E-post", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Passord", validators=[DataRequired(), Length(max=200)])


class SecondFactorForm(FlaskForm):
    """Six-digit code from an authenticator app (TOTP)."""

    code = StringField("Kode fra autentiseringsappen", validators=[DataRequired(), Length(6, 8)])


class PatientSearchForm(FlaskForm):
    """Look up a patient by national ID (posted, never put in a URL)."""

    national_id = StringField(
        "Fødselsnummer eller D-nummer", validators=[DataRequired(), Length(max=20)]
    )

    def validate_national_id(self, field: StringField) -> None:
        """Reject numbers that are not valid national IDs, saying why."""
        try:
            validate(field.data or "")
        except InvalidNationalId as exc:
            raise ValidationError(NATIONAL_ID_ERRORS[exc.reason]) from exc


class PasswordChangeForm(FlaskForm):
    """Current password, new password twice."""

    current = PasswordField("Nåværende passord", validators=[DataRequired(), Length(max=200)])
    new = PasswordField(
        "Nytt passord (minst 12 tegn)", validators=[DataRequired(), Length(min=12, max=200)]
    )
    repeat = PasswordField(
        "Gjenta nytt passord",
        validators=[DataRequired(), EqualTo("new", message="Passordene er ikke like.")],
    )


class TotpEnableForm(FlaskForm):
    """Confirm a new authenticator app with its first code."""

    secret = HiddenField(validators=[DataRequired(), Regexp(TOTP_SECRET.pattern + r"\Z")])
    code = StringField("Kode fra appen", validators=[DataRequired(), Length(6, 8)])


class TotpDisableForm(FlaskForm):
    """Turn the second factor off (needs the password)."""

    password = PasswordField("Passord", validators=[DataRequired(), Length(max=200)])
