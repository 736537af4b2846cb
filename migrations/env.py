"""Alembic environment: runs inside the Flask app (``flask --app wsgi db upgrade``).

Also works as plain ``alembic -c migrations/alembic.ini upgrade head``: then the app is
created from the ``OPENPROM_*`` environment.
"""

import logging
from contextlib import nullcontext
from logging.config import fileConfig

from alembic import context
from flask import current_app, has_app_context

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")


def _app_context():
    if has_app_context():
        return nullcontext()
    from webapp import create_app

    return create_app().app_context()


def _skip_empty_autogenerate(ctx, revision, directives):
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")


def run() -> None:
    with _app_context():
        migrate_ext = current_app.extensions["migrate"]
        metadata = migrate_ext.db.metadata
        engine = migrate_ext.db.engine
        args = dict(migrate_ext.configure_args)
        args.setdefault("process_revision_directives", _skip_empty_autogenerate)
        args.setdefault("compare_type", True)
        args.setdefault("render_as_batch", engine.dialect.name == "sqlite")
        if context.is_offline_mode():
            context.configure(url=engine.url, target_metadata=metadata, literal_binds=True)
            with context.begin_transaction():
                context.run_migrations()
            return
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=metadata, **args)
            with context.begin_transaction():
                context.run_migrations()


run()
