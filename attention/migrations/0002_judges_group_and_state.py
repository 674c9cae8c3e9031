from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations


def create_judges_group_and_state(apps, schema_editor):
    # Permissions are normally created after all migrations ran; create this app's now so the group can hold one.
    app_config = apps.get_app_config("attention")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="judges")
    # Minimal: judges see review items in the admin; scoring is granted by membership, not by a model permission.
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="attention", codename="view_humanreward")
    )

    AttentionState = apps.get_model("attention", "AttentionState")
    AttentionState.objects.get_or_create(
        id=1,
        defaults={
            "price": settings.ATTENTION_RESERVE_PRICE,
            "floor": settings.ATTENTION_PRICE_FLOOR,
            "ceiling": settings.ATTENTION_PRICE_CEILING,
        },
    )


class Migration(migrations.Migration):
    dependencies = [
        ("attention", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_judges_group_and_state, migrations.RunPython.noop)]
