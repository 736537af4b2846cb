"""Admin views: instruments and licences, user accounts, the audit log."""

from __future__ import annotations

import datetime as dt

from flask import abort, g, redirect, render_template, request, url_for
from sqlalchemy import select

from instruments import load_all
from webapp.admin import bp
from webapp.admin.forms import AuditFilterForm, UserForm
from webapp.auth import guarded
from webapp.extensions import db
from webapp.models import ROLES, AuditEvent, Register, Unit, User
from webapp.services import access, audit, users

ADMIN_ROLES = ("sysadmin", "register_admin")


def _is_admin(user: User) -> bool:
    return access.has_role(user, *ADMIN_ROLES)


@bp.get("/instruments")
@guarded("administrators", _is_admin)
def instruments():  # type: ignore[no-untyped-def]
    """Every bundled instrument with version, languages and its licence notice."""
    items = sorted(load_all().values(), key=lambda i: i.id)
    return render_template("admin/instruments.html", instruments=items)


@bp.get("/instruments/<instrument_id>")
@guarded("administrators", lambda user, instrument_id: _is_admin(user))
def instrument(instrument_id: str):  # type: ignore[no-untyped-def]
    """One instrument: licence notice, items and options."""
    inst = load_all().get(instrument_id)
    if inst is None:
        abort(404)
    return render_template("admin/instrument.html", inst=inst)


def _user_form() -> UserForm:
    form = UserForm()
    form.role.choices = [(r, r) for r in ROLES]
    form.unit.choices = [("", "–")] + [
        (u.name, u.title) for u in db.session.scalars(select(Unit).order_by(Unit.name))
    ]
    form.register.choices = [("", "–")] + [
        (r.name, r.title) for r in db.session.scalars(select(Register).order_by(Register.name))
    ]
    return form


@bp.route("/users", methods=["GET", "POST"])
@guarded("sysadmin", access.can_manage_users)
def users_page():  # type: ignore[no-untyped-def]
    """List accounts and create a new one (the generated password is shown once)."""
    form = _user_form()
    created = None
    error = None
    status = 200
    if form.validate_on_submit():
        try:
            user, password = users.create_user(
                form.email.data,
                form.role.data,
                unit=form.unit.data or None,
                register=form.register.data or None,
            )
            audit.record_by(
                g.user,
                "user.create",
                subject=user.email,
            )
            db.session.commit()
            created = (user.email, password)
        except users.UserError as exc:
            db.session.rollback()
            error, status = str(exc), 400
    elif request.method == "POST":
        status = 400
    accounts = db.session.scalars(select(User).order_by(User.email)).all()
    return render_template(
        "admin/users.html", form=form, accounts=accounts, created=created, error=error
    ), status


@bp.post("/users/<int:user_id>/active")
@guarded("sysadmin", lambda user, user_id: access.can_manage_users(user))
def user_active(user_id: int):  # type: ignore[no-untyped-def]
    """Disable or re-enable an account (disabling ends its sessions)."""
    from webapp.services.auth import set_active

    target = db.session.get(User, user_id)
    if target is None:
        abort(404)
    if target.id == g.user.id:
        abort(400)
    enable = request.form.get("active") == "1"
    set_active(target, enable)
    audit.record_by(
        g.user,
        "user.enable" if enable else "user.disable",
        subject=target.email,
    )
    db.session.commit()
    return redirect(url_for("admin.users_page"))


@bp.get("/audit")
@guarded("sysadmin or register_admin", access.can_read_audit)
def audit_log():  # type: ignore[no-untyped-def]
    """The audit log, newest first, filtered by action, patient, actor and date."""
    form = AuditFilterForm(request.args, meta={"csrf": False})
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if not access.has_role(g.user, "sysadmin"):
        units = access.unit_ids(g.user, ("register_admin",))
        registers = access.registers(g.user, ("register_admin",))
        query = query.where(
            AuditEvent.patient_id.in_(users.patients_at_units(units))
            | AuditEvent.subject.in_([f"register:{r.name}" for r in registers])
        )
    if not form.validate():
        return render_template("admin/audit.html", form=form, events=[]), 400
    if form.action.data:
        query = query.where(AuditEvent.action.like(f"{form.action.data}%"))
    if form.patient_id.data:
        query = query.where(AuditEvent.patient_id == form.patient_id.data)
    if form.actor.data:
        query = query.where(AuditEvent.actor_label.like(f"%{form.actor.data}%"))
    if form.since.data:
        since = dt.datetime.combine(form.since.data, dt.time(), dt.UTC)
        query = query.where(AuditEvent.at >= since)
    events = db.session.scalars(query.limit(500)).all()
    return render_template("admin/audit.html", form=form, events=events)
