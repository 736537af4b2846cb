"""Forms of the admin pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional


class UserForm(FlaskForm):
    """A new account with one role (unit or register scope as the role needs)."""

    email = EmailField("E-post", validators=[DataRequired(), Length(max=254)])
    role = SelectField("Rolle", validators=[DataRequired()])
    unit = SelectField("Enhet", validators=[Optional()])
    register = SelectField("Register", validators=[Optional()])


class AuditFilterForm(FlaskForm):
    """Filters of the audit log (GET, no CSRF needed: it changes nothing)."""

    action = StringField("Handling begynner med", validators=[Optional(), Length(max=64)])
    patient_id = IntegerField(
        "Pasient (intern id)",
        validators=[Optional()],
        render_kw={"inputmode": "numeric"},
    )
    actor = StringField("Bruker", validators=[Optional(), Length(max=254)])
    since = DateField("Fra dato", validators=[Optional()])
