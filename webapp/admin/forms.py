"""Forms of the admin pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from webapp.whole_numbers import WholeNumberField


class UserForm(FlaskForm):
    """A new account with one role (unit or register scope as the role needs)."""

    email = EmailField("E-post", validators=[DataRequired(), Length(max=254)])
    role = SelectField("Rolle", validators=[DataRequired()])
    unit = SelectField("Enhet", validators=[Optional()])
    register = SelectField("Register", validators=[Optional()])


class AuditFilterForm(FlaskForm):
    """Filters of the audit log (GET, no CSRF needed: it changes nothing)."""

    action = StringField("Handling begynner med", validators=[Optional(), Length(max=64)])
    patient_id = WholeNumberField(
        "Pasient (intern id)",
        validators=[
            Optional(),
            NumberRange(  # the column is a 32-bit integer
                min=1,
                max=2**31 - 1,
                message="Ikke en gyldig heltallsverdi. Skriv pasientens interne id som et tall.",
            ),
        ],
        max_digits=10,
        signed=False,
        render_kw={"inputmode": "numeric"},
    )
    actor = StringField("Bruker", validators=[Optional(), Length(max=254)])
    since = DateField("Fra dato", validators=[Optional()])
