"""The GIN index of the posts' search vectors, on PostgreSQL only (SQLite, ``make up``'s embedded
database, searches without one: ``lms.community.search``)."""

from django.db import migrations

INDEX = "community_post_search_gin"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON community_post USING gin (search_vector)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("community", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
