# Squashed from attention 0001_initial to 0005_bid_book_shared_fields (the schema as the models declare it, then the
# data migrations). A database that applied all of those is marked as having applied this one; a database that applied
# only some must first migrate with the previous release (README, "Upgrading").

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models


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

    replaces = [
        ('attention', '0001_initial'),
        ('attention', '0002_judges_group_and_state'),
        ('attention', '0003_several_winners_per_attention_tick'),
        ('attention', '0004_review_item_names'),
        ('attention', '0005_bid_book_shared_fields'),
    ]

    initial = True

    dependencies = [
        ('economy', '0001_squashed_0009_economy_seed'),
        ('sandbox', '0001_squashed_0003_execution_dispatch_backoff_and_run_end'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.CreateModel(
            name='AttentionBid',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('tick_number', models.PositiveBigIntegerField(help_text='The tick this bid takes part in.')),
                ('max_price', models.BigIntegerField()),
                ('status', models.CharField(choices=[('PENDING', 'pending'), ('WON', 'won'), ('LOST', 'lost'), ('CANCELLED', 'cancelled')], default='PENDING', max_length=10)),
                ('price', models.BigIntegerField(blank=True, help_text='What the bid paid (winners).', null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('closed_at', models.DateTimeField(blank=True, null=True)),
                ('agent', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='%(app_label)s_bids', to='economy.agent')),
                ('execution', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='attention_bids', to='sandbox.execution')),
                ('hold', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='%(app_label)s_bid', to='economy.hold')),
            ],
            options={
                'ordering': ['-id'],
                'abstract': False,
            },
        ),
        migrations.CreateModel(
            name='AttentionState',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('price', models.BigIntegerField(help_text="The posted (reserve) price; it moves only with ticks' controller steps.")),
                ('floor', models.BigIntegerField()),
                ('ceiling', models.BigIntegerField()),
                ('ema_alpha', models.FloatField(default=0.3, help_text='Weight of the newest utilization in the moving average.')),
                ('utilization', models.FloatField(default=0.0, help_text='Allocated / supply in the last tick.')),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('open_tick', models.PositiveBigIntegerField(default=1, help_text='The attention tick that new bids join.')),
                ('target_utilization', models.FloatField(default=0.8, help_text='Share of ticks that should allocate the slot.')),
                ('utilization_ema', models.FloatField(default=0.8)),
            ],
            options={
                'verbose_name': 'attention state',
                'constraints': [models.CheckConstraint(condition=models.Q(('id', 1)), name='attention_state_singleton'), models.CheckConstraint(condition=models.Q(('floor__gt', 0), ('ceiling__gte', models.F('floor'))), name='attention_bounds_valid'), models.CheckConstraint(condition=models.Q(('price__gte', models.F('floor')), ('price__lte', models.F('ceiling'))), name='attention_price_within_bounds'), models.CheckConstraint(condition=models.Q(('target_utilization__gt', 0), ('target_utilization__lte', 1)), name='attention_target_in_range'), models.CheckConstraint(condition=models.Q(('ema_alpha__gt', 0), ('ema_alpha__lte', 1)), name='attention_alpha_in_range')],
            },
        ),
        migrations.CreateModel(
            name='AttentionTick',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.PositiveBigIntegerField(unique=True)),
                ('slot', models.BigIntegerField(blank=True, help_text='Beat time slot (scheduled epoch // tick period), if scheduled.', null=True, unique=True)),
                ('started_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('bids', models.PositiveIntegerField(default=0, help_text='Bids that took part.')),
                ('price', models.BigIntegerField(blank=True, help_text='What the winner paid.', null=True)),
                ('reserve', models.BigIntegerField(help_text='The reserve price this tick cleared at.')),
                ('next_price', models.BigIntegerField()),
                ('utilization', models.FloatField()),
                ('utilization_ema', models.FloatField()),
                ('winner', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='won_tick', to='attention.attentionbid')),
            ],
            options={
                'ordering': ['-number'],
                'abstract': False,
            },
        ),
        migrations.CreateModel(
            name='HumanReward',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('tick_number', models.PositiveBigIntegerField()),
                ('price_paid', models.BigIntegerField()),
                ('status', models.CharField(choices=[('QUEUED', 'queued'), ('SCORED', 'scored')], default='QUEUED', max_length=8)),
                ('queued_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('score', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('comment', models.TextField(blank=True)),
                ('judged_by', models.CharField(blank=True, help_text="The judge's username, or function:<module:function> for the script.", max_length=200)),
                ('scored_at', models.DateTimeField(blank=True, null=True)),
                ('minted', models.BigIntegerField(default=0, help_text='Credits minted to the agent for this score.')),
                ('note', models.CharField(blank=True, help_text='Why nothing was minted, if so.', max_length=200)),
                ('agent', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='human_rewards', to='economy.agent')),
                ('bid', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='review_item', to='attention.attentionbid')),
                ('execution', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='human_reward', to='sandbox.execution')),
                ('judge', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='human_rewards', to=settings.AUTH_USER_MODEL)),
                ('transfer', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='human_reward', to='economy.transfer')),
            ],
            options={
                'verbose_name': 'review item',
                'verbose_name_plural': 'review items',
                'ordering': ['queued_at', 'id'],
            },
        ),
        migrations.AddIndex(
            model_name='attentionbid',
            index=models.Index(fields=['tick_number'], name='attention_bid_by_tick'),
        ),
        migrations.AddIndex(
            model_name='attentionbid',
            index=models.Index(fields=['agent', '-id'], name='attention_bid_agent_recent'),
        ),
        migrations.AddConstraint(
            model_name='attentionbid',
            constraint=models.CheckConstraint(condition=models.Q(('max_price__gt', 0)), name='attention_bid_max_price_positive'),
        ),
        migrations.AddConstraint(
            model_name='attentionbid',
            constraint=models.CheckConstraint(condition=models.Q(('price__isnull', True), models.Q(('price__gte', 0), ('price__lte', models.F('max_price'))), _connector='OR'), name='attention_bid_price_within_max'),
        ),
        migrations.AddConstraint(
            model_name='attentionbid',
            constraint=models.UniqueConstraint(condition=models.Q(('status', 'PENDING')), fields=('execution',), name='attention_bid_one_pending_per_execution'),
        ),
        migrations.AddConstraint(
            model_name='attentionbid',
            constraint=models.UniqueConstraint(condition=models.Q(('status', 'WON')), fields=('execution',), name='attention_bid_one_win_per_execution'),
        ),
        migrations.AddIndex(
            model_name='humanreward',
            index=models.Index(condition=models.Q(('status', 'QUEUED')), fields=['queued_at', 'id'], name='human_reward_queue'),
        ),
        migrations.AddConstraint(
            model_name='humanreward',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['QUEUED', 'SCORED'])), name='human_reward_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='humanreward',
            constraint=models.CheckConstraint(condition=models.Q(('score__isnull', True), models.Q(('score__gte', 0), ('score__lte', 10)), _connector='OR'), name='human_reward_score_in_range'),
        ),
        migrations.AddConstraint(
            model_name='humanreward',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'QUEUED'), ('score__isnull', True), ('scored_at__isnull', True)), models.Q(('status', 'SCORED'), ('score__isnull', False), ('scored_at__isnull', False)), _connector='OR'), name='human_reward_scored_iff_score'),
        ),
        migrations.AddConstraint(
            model_name='humanreward',
            constraint=models.CheckConstraint(condition=models.Q(('minted__gte', 0)), name='human_reward_minted_non_negative'),
        ),
        migrations.RunPython(create_judges_group_and_state, migrations.RunPython.noop),
    ]
