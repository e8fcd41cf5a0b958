"""The grader's revisions: its tables as they changed, in order (``servicekit.migrations`` runs
them on start; docs/architecture.md, "Changing a service's tables", says how to write one).

0001 to 0003 are the schemas ``create_all`` made before there were revisions; a database made
then is recognised by its tables (``grading.store.Database.legacy_revisions``) and continues
from the one it equals."""
