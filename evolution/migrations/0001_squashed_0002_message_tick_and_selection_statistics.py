# Squashed from evolution 0001_initial to 0002_message_tick_and_selection_statistics (its data step, counting earlier
# life events as counted, has nothing to do on a new database) (the schema as the models declare it, then the data
# migrations). A database that applied all of those is marked as having applied this one; a database that applied only
# some must first migrate with the previous release (README, "Upgrading").

import django.db.models.deletion
from django.db import migrations, models



class Migration(migrations.Migration):

    replaces = [
        ('evolution', '0001_initial'),
        ('evolution', '0002_message_tick_and_selection_statistics'),
    ]

    initial = True

    dependencies = [
        ('economy', '0001_squashed_0009_economy_seed'),
    ]

    operations = [
        migrations.CreateModel(
            name='PopulationStats',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('tick', models.PositiveBigIntegerField(unique=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('alive', models.PositiveIntegerField()),
                ('births', models.PositiveIntegerField()),
                ('deaths', models.PositiveIntegerField()),
                ('max_generation', models.PositiveIntegerField(default=0)),
                ('credits_in_circulation', models.BigIntegerField(help_text="Agents' balances plus their credits in escrow.")),
                ('minted', models.BigIntegerField(help_text='All credits ever minted.')),
                ('burned', models.BigIntegerField(help_text='All credits in the treasury (fees, upkeep, prices).')),
                ('gini', models.FloatField(help_text="Gini coefficient of living agents' balances (0 equal, 1 one has all).")),
                ('minted_in_tick', models.BigIntegerField(default=0, help_text='Credits minted during this tick (rewards).')),
                ('burned_in_tick', models.BigIntegerField(default=0, help_text='Credits burned during this tick (fees, upkeep, prices, estates).')),
                ('selection_differential', models.FloatField(default=0.0, help_text='Covariance, over the agents whose work from the last SELECTION_WINDOW ticks was judged, between the mean judged score of that work and the children they had in the window (> 0: the better reproduce).')),
                ('diversity', models.PositiveIntegerField(default=0, help_text='Distinct latest artifacts among the living.')),
                ('last_event_id', models.BigIntegerField(default=0, help_text='The last life event counted (births and deaths of a tick are those after the previous).')),
            ],
            options={
                'verbose_name_plural': 'population stats',
                'ordering': ['-tick'],
            },
        ),
        migrations.CreateModel(
            name='LifeEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('birth', 'birth'), ('death', 'death')], max_length=8)),
                ('cause', models.CharField(blank=True, max_length=200)),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('agent', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='life_events', to='economy.agent')),
                ('transfer', models.ForeignKey(blank=True, db_index=False, help_text='The ledger movement of the event (the spawn fee, or the final upkeep at death).', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='economy.transfer')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('agent', 'kind'), name='one_birth_and_one_death_per_agent')],
            },
        ),
        migrations.CreateModel(
            name='Message',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('body', models.TextField()),
                ('tick', models.PositiveBigIntegerField(default=0, help_text='The market tick open when it was sent.')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('recipient', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='economy.agent')),
                ('sender', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='sent_messages', to='economy.agent')),
            ],
            options={
                'ordering': ['-id'],
                'indexes': [models.Index(fields=['recipient', '-id'], name='message_inbox')],
            },
        ),
    ]
