from django.db import migrations


def set_fillfactor(apps, schema_editor):
    # Leave room on each page (every row is updated once, so half a page) so resolving a hold (status, amounts) is a HOT update without index writes.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE economy_hold SET (fillfactor = 50)")


class Migration(migrations.Migration):
    dependencies = [("economy", "0004_remove_hold_hold_pending_by_account")]
    operations = [migrations.RunPython(set_fillfactor, migrations.RunPython.noop)]
