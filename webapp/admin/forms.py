"""Forms of the admin pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from webapp.whole_numbers import WholeNumberField


class UserForm(FlaskForm):
    """A new account with one role (unit or register scope as the role needs)."""

    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    role = SelectField(_l("Role"), validators=[DataRequired()])
    unit = SelectField(_l("Unit"), validators=[Optional()])
    register = SelectField(_l("Register"), validators=[Optional()])


class AuditFilterForm(FlaskForm):
    """Filters of the audit log (GET, no CSRF needed: it changes nothing)."""

    action = StringField(_l("Action begins with"), validators=[Optional(), Length(max=64)])
    patient_id = WholeNumberField(
        _l("Patient (internal id)"),
        validators=[
            Optional(),
            NumberRange(  # the column is a 32-bit integer
                min=1,
                max=2**31 - 1,
                message=_l(
                    "Not a valid whole number. Write the patient's internal id as a number."
                ),
            ),
        ],
        max_digits=10,
        signed=False,
        render_kw={"inputmode": "numeric"},
    )
    actor = StringField(_l("User"), validators=[Optional(), Length(max=254)])
    since = DateField(_l("From date"), validators=[Optional()])
