from django.db import migrations

# Fixed negative ids: never produced by a sequence, so they cannot collide with agent accounts.
SYSTEM_ACCOUNTS = {"mint": -1, "treasury": -2, "escrow": -3}


def create_system_accounts(apps, schema_editor):
    Account = apps.get_model("economy", "Account")
    for code, account_id in SYSTEM_ACCOUNTS.items():
        Account.objects.get_or_create(id=account_id, defaults={"system": code})


class Migration(migrations.Migration):
    dependencies = [("economy", "0001_initial")]
    operations = [migrations.RunPython(create_system_accounts, migrations.RunPython.noop)]
