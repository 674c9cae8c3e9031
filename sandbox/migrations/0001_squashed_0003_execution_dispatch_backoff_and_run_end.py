# Squashed from sandbox 0001_initial to 0003_execution_dispatch_backoff_and_run_end (the schema as the models declare
# it, then the data migrations). A database that applied all of those is marked as having applied this one; a database
# that applied only some must first migrate with the previous release (README, "Upgrading").

import django.db.models.deletion
from django.db import migrations, models



class Migration(migrations.Migration):

    replaces = [
        ('sandbox', '0001_initial'),
        ('sandbox', '0002_execution_fewer_indexes'),
        ('sandbox', '0003_execution_dispatch_backoff_and_run_end'),
    ]

    initial = True

    dependencies = [
        ('economy', '0001_squashed_0009_economy_seed'),
        ('market', '0001_squashed_0005_bid_book_shared_fields'),
    ]

    operations = [
        migrations.CreateModel(
            name='WorkerToken',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100, unique=True)),
                ('key_hash', models.CharField(max_length=64, unique=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('revoked_at', models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.CreateModel(
            name='Workspace',
            fields=[
                ('agent', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='workspace', serialize=False, to='economy.agent')),
                ('files', models.JSONField(default=dict)),
                ('size_bytes', models.PositiveIntegerField(default=0)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('archived_at', models.DateTimeField(blank=True, help_text='Set when the agent died; kept for lineage.', null=True)),
            ],
        ),
        migrations.CreateModel(
            name='Execution',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('cpu_millicores', models.PositiveIntegerField()),
                ('memory_mb', models.PositiveIntegerField()),
                ('wall_seconds', models.PositiveIntegerField()),
                ('status', models.CharField(choices=[('QUEUED', 'queued'), ('RUNNING', 'running'), ('SUCCEEDED', 'succeeded'), ('FAILED', 'failed'), ('TIMED_OUT', 'timed out'), ('OOM_KILLED', 'killed for memory'), ('LOST', 'lost')], default='QUEUED', max_length=10)),
                ('attempts', models.PositiveIntegerField(default=0, help_text="Claims so far; the current claim's fencing number.")),
                ('worker', models.CharField(blank=True, help_text='Name of the worker that claimed it last.', max_length=100)),
                ('lease_expires_at', models.DateTimeField(blank=True, null=True)),
                ('image', models.CharField(blank=True, max_length=200)),
                ('exit_code', models.IntegerField(blank=True, null=True)),
                ('stdout', models.TextField(blank=True)),
                ('stderr', models.TextField(blank=True)),
                ('stdout_truncated', models.BooleanField(default=False)),
                ('stderr_truncated', models.BooleanField(default=False)),
                ('error', models.TextField(blank=True, help_text="What went wrong outside the agent's program, if anything.")),
                ('workspace_outcome', models.CharField(blank=True, choices=[('', 'not yet'), ('saved', 'saved'), ('unchanged', 'unchanged (nothing returned)'), ('too_large', 'refused: over the workspace cap'), ('invalid', 'refused: bad file names'), ('archived', 'refused: the agent died meanwhile (its workspace is archived)')], default='', max_length=10)),
                ('artifact', models.TextField(blank=True, help_text='What the agent submitted for judges (capped).')),
                ('artifact_submitted_at', models.DateTimeField(blank=True, null=True)),
                ('refunded', models.BigIntegerField(default=0, help_text='Credits given back when the execution was lost.')),
                ('run_ended_at', models.DateTimeField(blank=True, help_text="When the worker reported the agent's run over (its compute delivered); a LOST execution whose run had ended is not refunded.", null=True)),
                ('dispatches', models.PositiveIntegerField(default=0, help_text='Times the execution was sent to the sandbox queue.')),
                ('dispatched_at', models.DateTimeField(blank=True, help_text='When it was last sent to the sandbox queue.', null=True)),
                ('redispatch_at', models.DateTimeField(blank=True, help_text='When the reaper may send it again if it is still QUEUED.', null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('agent', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='executions', to='economy.agent')),
                ('bid', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='execution', to='market.bid')),
                ('worker_token', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='executions', to='sandbox.workertoken')),
            ],
            options={
                'ordering': ['-id'],
            },
        ),
        migrations.CreateModel(
            name='ExecutionToken',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('attempt', models.PositiveIntegerField()),
                ('execution', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='tokens', to='sandbox.execution')),
                ('token', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='execution_link', to='economy.agenttoken')),
            ],
        ),
        migrations.AddIndex(
            model_name='execution',
            index=models.Index(fields=['agent', '-id'], name='execution_agent_recent'),
        ),
        migrations.AddIndex(
            model_name='execution',
            index=models.Index(condition=models.Q(('status', 'RUNNING')), fields=['lease_expires_at'], name='execution_running_lease'),
        ),
        migrations.AddIndex(
            model_name='execution',
            index=models.Index(condition=models.Q(('status', 'QUEUED')), fields=['redispatch_at'], name='execution_queued_redispatch'),
        ),
        migrations.AddConstraint(
            model_name='execution',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'OOM_KILLED', 'LOST'])), name='execution_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='execution',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'RUNNING'), _negated=True), models.Q(('lease_expires_at__isnull', False), ('worker_token__isnull', False)), _connector='OR'), name='execution_running_has_lease'),
        ),
        migrations.AddConstraint(
            model_name='execution',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['QUEUED', 'RUNNING']), ('finished_at__isnull', False), _connector='OR'), name='execution_final_has_finish_time'),
        ),
        migrations.AddConstraint(
            model_name='execution',
            constraint=models.CheckConstraint(condition=models.Q(('refunded__gte', 0)), name='execution_refund_non_negative'),
        ),
    ]
