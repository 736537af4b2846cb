"""Admin views: instruments and licences, user accounts, the audit log."""

from __future__ import annotations

import datetime as dt

from flask import abort, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from instruments import load_all
from webapp.admin import bp
from webapp.admin.forms import AuditFilterForm, UserForm
from webapp.auth import deny, guarded
from webapp.extensions import db
from webapp.models import ROLES, AuditEvent, Register, Unit, User
from webapp.services import access, security_events, users
from webapp.services.audit_words import action_words

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


def _can_see_users(user: User) -> bool:
    """Sysadmins manage accounts; register admins see (and approve) their register's."""
    return access.can_manage_users(user) or access.has_role(user, "register_admin")


def _visible_accounts(viewer: User) -> list[User]:
    accounts = db.session.scalars(select(User).order_by(User.email)).all()
    if access.can_manage_users(viewer):
        return list(accounts)
    admin_of = {r.name for r in access.registers(viewer, ("register_admin",))}
    return [a for a in accounts if set(users.register_names(a)) & admin_of]


def _account_event(event: str, target: User, **details: object) -> None:
    """A security event about ``target`` done by the signed-in admin (role and scope)."""
    security_events.record(
        event,
        user_id=g.user.id,
        email=g.user.email,
        outcome="success",
        details={
            "target_id": target.id,
            **users.scope_of(target),
            **details,
        },
        subject=users.audit_subject(target),
    )


@bp.route("/users", methods=["GET", "POST"])
@guarded("sysadmin; register admin (own register's accounts)", _can_see_users)
def users_page():  # type: ignore[no-untyped-def]
    """List accounts and create a new one (the generated password is shown once).

    The new owner must change that password at first login; a privileged account
    (register admin, methodologist, sysadmin) waits for a second person's approval.
    """
    if request.method == "POST" and not access.can_manage_users(g.user):
        deny("sysadmin")
    form = _user_form()
    created = None
    error = None
    status = 200
    if form.validate_on_submit():
        try:
            pending = form.role.data in users.PRIVILEGED_ROLES
            user, password = users.create_user(
                form.email.data,
                form.role.data,
                unit=form.unit.data or None,
                register=form.register.data or None,
                created_by=g.user,
                must_change_password=True,
                pending_approval=pending,
            )
            _account_event(
                "user.create",
                user,
                via="web",
                pending_approval=pending,
                must_change_password=True,
            )
            db.session.commit()
            created = (user.email, password, pending)
        except users.UserError as exc:
            db.session.rollback()
            error, status = str(exc), 400
    elif request.method == "POST":
        status = 400
    accounts = _visible_accounts(g.user)
    approvable = {a.id for a in accounts if a.pending_approval and users.may_approve(g.user, a)}
    return render_template(
        "admin/users.html",
        form=form,
        accounts=accounts,
        created=created,
        error=error,
        approvable=approvable,
        can_manage=access.can_manage_users(g.user),
    ), status


def _may_approve_route(user: User, user_id: int) -> bool:
    """Sysadmins; register admins for accounts scoped to their register."""
    if access.can_manage_users(user):
        return True
    target = db.session.get(User, user_id)
    admin_of = {r.name for r in access.registers(user, ("register_admin",))}
    return target is not None and bool(set(users.register_names(target)) & admin_of)


@bp.post("/users/<int:user_id>/approve")
@guarded("second person: sysadmin or the account's register admin", _may_approve_route)
def user_approve(user_id: int):  # type: ignore[no-untyped-def]
    """Approve a pending privileged account (never by its creator)."""
    target = db.session.get(User, user_id)
    if target is None:
        abort(404)
    if not target.pending_approval:
        abort(400)
    if not users.may_approve(g.user, target):
        deny("second person approves")
    users.approve(g.user, target)
    _account_event("user.approve", target, created_by_id=target.created_by_id)
    db.session.commit()
    return redirect(url_for("admin.users_page"))


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
    _account_event("user.enable" if enable else "user.disable", target)
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
        return render_template("admin/audit.html", form=form, rows=[]), 400
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
    targets = {e.details.get("target_id") for e in events if isinstance(e.details, dict)}
    targets.discard(None)
    emails = (
        dict(db.session.execute(select(User.id, User.email).where(User.id.in_(targets))).all())
        if targets
        else {}
    )
    rows = [(e, *_describe(e, emails)) for e in events]
    return render_template("admin/audit.html", form=form, rows=rows)


SECURITY_LABELS = {
    "login.success": _l("Sign-in"),
    "login.password_ok": _l("Password accepted, waiting for the one-time code"),
    "login.failed": _l("Failed sign-in"),
    "login.throttled": _l("Sign-in refused: too many attempts"),
    "logout": _l("Sign-out"),
    "totp.failed": _l("Wrong one-time code"),
    "totp.throttled": _l("One-time code refused: too many attempts"),
    "totp.session_revoked": _l("Session ended after too many wrong codes"),
    "totp.enabled": _l("Two-step sign-in turned on"),
    "totp.disabled": _l("Two-step sign-in turned off"),
    "totp.enable_failed": _l("Wrong code when turning on two-step sign-in"),
    "totp.disable_failed": _l("Wrong password when turning off two-step sign-in"),
    "password.changed": _l("Password changed"),
    "password.change_failed": _l("Password change refused"),
    "password.throttled": _l("Password change refused: too many attempts"),
    "access.denied": _l("No access (403)"),
    "user.create": _l("User created"),
    "user.approve": _l("User approved"),
    "user.enable": _l("User enabled"),
    "user.disable": _l("User disabled"),
    "csrf.refused": _l("Form refused: CSRF check failed"),
    "input.nul_refused": _l("Request refused: invalid character (NUL)"),
    "request.too_large": _l("Request refused: too large (413)"),
}
REASONS = {
    "unknown": _l("unknown e-mail"),
    "password": _l("wrong password"),
    "disabled": _l("disabled account"),
    "pending": _l("waiting for approval"),
}


def _describe(event: AuditEvent, emails: dict[int, str]) -> tuple[str, str]:
    """A readable label and detail text for an audit event (security events in words)."""
    if not event.action.startswith("security."):
        return action_words(event.action), event.subject
    name = event.action.removeprefix("security.")
    d = event.details if isinstance(event.details, dict) else {}
    parts = []
    if d.get("target_id") is not None:
        target = emails.get(d["target_id"]) or _("user %(id)s", id=d["target_id"])
        parts.append(_("concerns %(user)s", user=target))
    for role in d.get("roles") or []:
        scope = role.get("unit") or role.get("register")
        parts.append(_("role %(role)s", role=role.get("role")) + (f" ({scope})" if scope else ""))
    if d.get("reason"):
        parts.append(REASONS.get(d["reason"], str(d["reason"])))
    if d.get("retry_after"):
        parts.append(_("next attempt in %(s)s s", s=d["retry_after"]))
    if d.get("replay"):
        parts.append(_("code used before"))
    if d.get("pending_approval"):
        parts.append(_("waiting for approval"))
    if d.get("must_change_password"):
        parts.append(_("must change the password"))
    if d.get("via"):
        parts.append(f"via {d['via']}")
    if d.get("rule"):
        parts.append(_("requires: %(rule)s", rule=d["rule"]))
    if event.subject.startswith("register:"):
        parts.append(event.subject)
    label = str(SECURITY_LABELS.get(name, name))
    return label, "; ".join(str(p) for p in parts)
