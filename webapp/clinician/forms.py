"""Forms of the clinician pages (Flask-WTF: CSRF on every form)."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp, ValidationError

from webapp.national_id import InvalidNationalId, validate

TOTP_SECRET = re.compile(r"[A-Z2-7]{16,64}")  # base32, as auth.new_totp_secret() makes

NATIONAL_ID_ERRORS = {
    "length": _l("A national ID number has 11 digits."),
    "non_digit": _l("A national ID number has digits only."),
    "bad_date": _l("The first six digits are not a valid date of birth."),
    "bad_check_digit": _l(
        "The check digits do not match. Check that the number is written correctly."
    ),
}


class LoginForm(FlaskForm):
    """E-mail and password."""

    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class SecondFactorForm(FlaskForm):
    """Six-digit code from an authenticator app (TOTP)."""

    code = StringField(
        _l("Code from the authenticator app"), validators=[DataRequired(), Length(6, 8)]
    )


class PatientSearchForm(FlaskForm):
    """Look up a patient by national ID (posted, never put in a URL)."""

    national_id = StringField(
        _l("National ID number or D-number"), validators=[DataRequired(), Length(max=20)]
    )

    def validate_national_id(self, field: StringField) -> None:
        """Reject numbers that are not valid national IDs, saying why."""
        try:
            validate(field.data or "")
        except InvalidNationalId as exc:
            raise ValidationError(str(NATIONAL_ID_ERRORS[exc.reason])) from exc


class PasswordChangeForm(FlaskForm):
    """Current password, new password twice."""

    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    new = PasswordField(
        _l("New password (at least 12 characters)"),
        validators=[DataRequired(), Length(min=12, max=200)],
    )
    repeat = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new", message=_l("The passwords are not the same."))],
    )


class TotpEnableForm(FlaskForm):
    """Confirm a new authenticator app with its first code."""

    secret = HiddenField(validators=[DataRequired(), Regexp(TOTP_SECRET.pattern + r"\Z")])
    code = StringField(_l("Code from the app"), validators=[DataRequired(), Length(6, 8)])


class TotpDisableForm(FlaskForm):
    """Turn the second factor off (needs the password)."""

    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
