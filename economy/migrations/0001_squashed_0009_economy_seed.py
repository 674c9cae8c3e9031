# Squashed from economy 0001_initial to 0009_economy_seed (the schema as the models declare it, then the data
# migrations). A database that applied all of those is marked as having applied this one; a database that applied only
# some must first migrate with the previous release (README, "Upgrading").

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


# Fixed negative ids: never produced by a sequence, so they cannot collide with agent accounts.
SYSTEM_ACCOUNTS = {"mint": -1, "treasury": -2, "escrow": -3}


def create_system_accounts(apps, schema_editor):
    Account = apps.get_model("economy", "Account")
    for code, account_id in SYSTEM_ACCOUNTS.items():
        Account.objects.get_or_create(id=account_id, defaults={"system": code})


def set_fillfactor(apps, schema_editor):
    # Leave room on each page (every row is updated once, so half a page) so resolving a hold (status, amounts) is a HOT update without index writes.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE economy_hold SET (fillfactor = 50)")


class Migration(migrations.Migration):

    replaces = [
        ('economy', '0001_initial'),
        ('economy', '0002_system_accounts'),
        ('economy', '0003_transfer_kind_refund'),
        ('economy', '0004_remove_hold_hold_pending_by_account'),
        ('economy', '0005_hold_fillfactor'),
        ('economy', '0006_agent_owner'),
        ('economy', '0007_transfer_fewer_indexes'),
        ('economy', '0008_idempotency_record'),
        ('economy', '0009_economy_seed'),
    ]

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='EconomySeed',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('seed', models.BigIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name='Agent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100)),
                ('status', models.CharField(choices=[('alive', 'alive'), ('dead', 'dead')], db_index=True, default='alive', max_length=8)),
                ('generation', models.PositiveIntegerField(default=0)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('died_at', models.DateTimeField(blank=True, null=True)),
                ('death_cause', models.CharField(blank=True, max_length=200)),
                ('owner', models.ForeignKey(blank=True, help_text="The person who launched this agent's lineage, if any (judges may not score their own agents).", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='agents', to=settings.AUTH_USER_MODEL)),
                ('parent', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='children', to='economy.agent')),
            ],
            options={
                'ordering': ['id'],
            },
        ),
        migrations.CreateModel(
            name='Account',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('system', models.CharField(blank=True, choices=[('mint', 'mint'), ('treasury', 'treasury'), ('escrow', 'escrow')], max_length=16, null=True, unique=True)),
                ('balance', models.BigIntegerField(default=0)),
                ('agent', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='account', to='economy.agent')),
            ],
        ),
        migrations.CreateModel(
            name='AgentToken',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key_hash', models.CharField(max_length=64, unique=True)),
                ('label', models.CharField(blank=True, max_length=64)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('expires_at', models.DateTimeField(blank=True, null=True)),
                ('revoked_at', models.DateTimeField(blank=True, null=True)),
                ('agent', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='tokens', to='economy.agent')),
            ],
        ),
        migrations.CreateModel(
            name='Hold',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('amount', models.BigIntegerField()),
                ('settled_amount', models.BigIntegerField(default=0)),
                ('status', models.CharField(choices=[('pending', 'pending'), ('settled', 'settled'), ('released', 'released')], default='pending', max_length=8)),
                ('memo', models.CharField(blank=True, max_length=200)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('resolved_at', models.DateTimeField(blank=True, null=True)),
                ('account', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='holds', to='economy.account')),
            ],
        ),
        migrations.CreateModel(
            name='Transfer',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('amount', models.BigIntegerField()),
                ('kind', models.CharField(choices=[('transfer', 'transfer'), ('mint', 'mint'), ('burn', 'burn'), ('hold', 'hold'), ('release', 'release'), ('settle', 'settle'), ('fee', 'fee'), ('spawn', 'spawn'), ('endowment', 'endowment'), ('upkeep', 'upkeep'), ('reward', 'reward'), ('refund', 'refund')], max_length=16)),
                ('memo', models.CharField(blank=True, max_length=200)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('idempotency_key', models.CharField(blank=True, max_length=255, null=True)),
                ('request_hash', models.CharField(blank=True, max_length=64)),
                ('credit', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='credits', to='economy.account')),
                ('debit', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='debits', to='economy.account')),
                ('hold', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='transfers', to='economy.hold')),
            ],
            options={
                'verbose_name': 'ledger transfer',
            },
        ),
        migrations.CreateModel(
            name='IdempotencyRecord',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(max_length=255)),
                ('request_hash', models.CharField(max_length=64)),
                ('refusal_code', models.CharField(blank=True, max_length=64)),
                ('refusal_detail', models.CharField(blank=True, max_length=500)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('payer', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='economy.agent')),
                ('transfer', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='idempotency_record', to='economy.transfer')),
            ],
        ),
        migrations.AddConstraint(
            model_name='account',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('agent__isnull', False), ('system__isnull', True)), models.Q(('agent__isnull', True), ('system__isnull', False)), _connector='OR'), name='account_agent_xor_system'),
        ),
        migrations.AddConstraint(
            model_name='account',
            constraint=models.CheckConstraint(condition=models.Q(('agent__isnull', True), ('balance__gte', 0), _connector='OR'), name='account_agent_balance_non_negative'),
        ),
        migrations.AddConstraint(
            model_name='hold',
            constraint=models.CheckConstraint(condition=models.Q(('amount__gt', 0)), name='hold_amount_positive'),
        ),
        migrations.AddConstraint(
            model_name='hold',
            constraint=models.CheckConstraint(condition=models.Q(('settled_amount__gte', 0), ('settled_amount__lte', models.F('amount'))), name='hold_settled_within_amount'),
        ),
        migrations.AddIndex(
            model_name='transfer',
            index=models.Index(fields=['debit', '-id'], name='transfer_debit_recent'),
        ),
        migrations.AddIndex(
            model_name='transfer',
            index=models.Index(fields=['credit', '-id'], name='transfer_credit_recent'),
        ),
        migrations.AddConstraint(
            model_name='transfer',
            constraint=models.CheckConstraint(condition=models.Q(('amount__gt', 0)), name='transfer_amount_positive'),
        ),
        migrations.AddConstraint(
            model_name='transfer',
            constraint=models.CheckConstraint(condition=models.Q(('debit', models.F('credit')), _negated=True), name='transfer_distinct_accounts'),
        ),
        migrations.AddConstraint(
            model_name='transfer',
            constraint=models.UniqueConstraint(condition=models.Q(('idempotency_key__isnull', False)), fields=('debit', 'idempotency_key'), name='transfer_idempotency_key_per_payer'),
        ),
        migrations.AddConstraint(
            model_name='idempotencyrecord',
            constraint=models.UniqueConstraint(fields=('payer', 'key'), name='idempotency_record_key_per_payer'),
        ),
        migrations.AddConstraint(
            model_name='idempotencyrecord',
            constraint=models.CheckConstraint(condition=models.Q(('transfer__isnull', True), ('refusal_code', ''), _connector='OR'), name='idempotency_record_one_outcome'),
        ),
        migrations.RunPython(create_system_accounts, migrations.RunPython.noop),
        migrations.RunPython(set_fillfactor, migrations.RunPython.noop),
    ]
