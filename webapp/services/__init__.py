"""Use cases of the web app (register patients, invite, submit, score, export, audit)."""
