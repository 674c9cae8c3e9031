from django.db import migrations

from market.defaults import create_market_defaults


def create_market(apps, schema_editor):
    create_market_defaults(
        apps.get_model("market", "ResourceType"), apps.get_model("market", "MarketState"), apps.get_model("market", "MarketClock")
    )


class Migration(migrations.Migration):
    dependencies = [("market", "0001_initial")]
    operations = [migrations.RunPython(create_market, migrations.RunPython.noop)]
