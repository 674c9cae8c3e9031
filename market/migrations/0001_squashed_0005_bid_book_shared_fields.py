# Squashed from market 0001_initial to 0005_bid_book_shared_fields (the schema as the models declare it, then the data
# migrations). A database that applied all of those is marked as having applied this one; a database that applied only
# some must first migrate with the previous release (README, "Upgrading").

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

from market.defaults import create_market_defaults


def create_market(apps, schema_editor):
    create_market_defaults(
        apps.get_model("market", "ResourceType"), apps.get_model("market", "MarketState"), apps.get_model("market", "MarketClock")
    )


def set_fillfactor(apps, schema_editor):
    # Leave room on each page (every row is updated once, so half a page) so the tick's status and price updates are HOT updates without index writes.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE market_bid SET (fillfactor = 50)")


class Migration(migrations.Migration):

    replaces = [
        ('market', '0001_initial'),
        ('market', '0002_initial_market'),
        ('market', '0003_remove_bid_bid_pending_by_tick_bid_bid_by_tick'),
        ('market', '0004_bid_fillfactor'),
        ('market', '0005_bid_book_shared_fields'),
    ]

    initial = True

    dependencies = [
        ('economy', '0001_squashed_0009_economy_seed'),
    ]

    operations = [
        migrations.CreateModel(
            name='ResourceType',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', models.CharField(max_length=16, unique=True)),
                ('name', models.CharField(max_length=64)),
                ('unit', models.CharField(help_text='What one unit of supply is, e.g. millicore or MB.', max_length=32)),
            ],
        ),
        migrations.CreateModel(
            name='Tick',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.PositiveBigIntegerField(unique=True)),
                ('slot', models.BigIntegerField(blank=True, help_text='Beat time slot (scheduled epoch // tick period), if scheduled.', null=True, unique=True)),
                ('started_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('bids', models.PositiveIntegerField(default=0, help_text='Bids that took part.')),
                ('winners', models.PositiveIntegerField(default=0)),
                ('supply', models.JSONField(default=dict)),
                ('demand', models.JSONField(default=dict)),
                ('allocated', models.JSONField(default=dict)),
                ('clearing_multiple', models.FloatField(default=1.0, help_text='What winners paid per credit of posted cost.')),
                ('revenue', models.BigIntegerField(default=0)),
                ('prices', models.JSONField(default=dict, help_text='Posted prices this tick cleared at.')),
                ('next_prices', models.JSONField(default=dict)),
            ],
            options={
                'ordering': ['-number'],
                'abstract': False,
            },
        ),
        migrations.CreateModel(
            name='WorkerHost',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100, unique=True)),
                ('cpu_millicores', models.PositiveIntegerField()),
                ('memory_mb', models.PositiveIntegerField()),
                ('last_seen', models.DateTimeField()),
            ],
        ),
        migrations.CreateModel(
            name='MarketClock',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('open_tick', models.PositiveBigIntegerField(default=1)),
            ],
            options={
                'constraints': [models.CheckConstraint(condition=models.Q(('id', 1)), name='market_clock_singleton')],
            },
        ),
        migrations.CreateModel(
            name='Bid',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('tick_number', models.PositiveBigIntegerField(help_text='The tick this bid takes part in.')),
                ('max_price', models.BigIntegerField()),
                ('status', models.CharField(choices=[('PENDING', 'pending'), ('WON', 'won'), ('LOST', 'lost'), ('CANCELLED', 'cancelled')], default='PENDING', max_length=10)),
                ('price', models.BigIntegerField(blank=True, help_text='What the bid paid (winners).', null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('closed_at', models.DateTimeField(blank=True, null=True)),
                ('cpu_millicores', models.PositiveIntegerField()),
                ('memory_mb', models.PositiveIntegerField()),
                ('wall_seconds', models.PositiveIntegerField()),
                ('fee', models.BigIntegerField(default=0)),
                ('base_cost', models.BigIntegerField(blank=True, help_text="Cost at the tick's posted prices.", null=True)),
                ('agent', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='%(app_label)s_bids', to='economy.agent')),
                ('hold', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='%(app_label)s_bid', to='economy.hold')),
            ],
            options={
                'ordering': ['-id'],
                'abstract': False,
                'indexes': [models.Index(fields=['tick_number'], name='bid_by_tick'), models.Index(fields=['agent', '-id'], name='bid_agent_recent')],
                'constraints': [models.CheckConstraint(condition=models.Q(('max_price__gt', 0)), name='bid_max_price_positive'), models.CheckConstraint(condition=models.Q(('price__isnull', True), models.Q(('price__gte', 0), ('price__lte', models.F('max_price'))), _connector='OR'), name='bid_price_within_max')],
            },
        ),
        migrations.CreateModel(
            name='MarketState',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('price', models.BigIntegerField(help_text="The posted (reserve) price; it moves only with ticks' controller steps.")),
                ('floor', models.BigIntegerField()),
                ('ceiling', models.BigIntegerField()),
                ('target_utilization', models.FloatField(default=0.5)),
                ('ema_alpha', models.FloatField(default=0.3, help_text='Weight of the newest utilization in the moving average.')),
                ('utilization', models.FloatField(default=0.0, help_text='Allocated / supply in the last tick.')),
                ('utilization_ema', models.FloatField(default=0.5)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('supply', models.BigIntegerField(default=0, help_text='Supply of the last tick (units).')),
                ('supply_override', models.BigIntegerField(blank=True, help_text="When set, the supply of every tick; otherwise the worker hosts' capacity.", null=True)),
                ('resource', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='state', to='market.resourcetype')),
            ],
            options={
                'constraints': [models.CheckConstraint(condition=models.Q(('floor__gt', 0), ('ceiling__gte', models.F('floor'))), name='market_bounds_valid'), models.CheckConstraint(condition=models.Q(('price__gte', models.F('floor')), ('price__lte', models.F('ceiling'))), name='market_price_within_bounds'), models.CheckConstraint(condition=models.Q(('target_utilization__gt', 0), ('target_utilization__lte', 1)), name='market_target_in_range'), models.CheckConstraint(condition=models.Q(('ema_alpha__gt', 0), ('ema_alpha__lte', 1)), name='market_alpha_in_range')],
            },
        ),
        migrations.RunPython(create_market, migrations.RunPython.noop),
        migrations.RunPython(set_fillfactor, migrations.RunPython.noop),
    ]
