from django.db import migrations


def set_fillfactor(apps, schema_editor):
    # Leave room on each page (every row is updated once, so half a page) so the tick's status and price updates are HOT updates without index writes.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE market_bid SET (fillfactor = 50)")


class Migration(migrations.Migration):
    dependencies = [("market", "0003_remove_bid_bid_pending_by_tick_bid_bid_by_tick")]
    operations = [migrations.RunPython(set_fillfactor, migrations.RunPython.noop)]
