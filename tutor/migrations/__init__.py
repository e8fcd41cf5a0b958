"""The tutor's revisions: its table as it changed, in order (``servicekit.migrations`` runs them
on start; docs/architecture.md, "Changing a service's tables", says how to write one).

0001 is the table ``create_all`` made before there were revisions; a database made then is
recognised by it (``tutor.store.ExchangeLog.legacy_revisions``) and continues from there."""
