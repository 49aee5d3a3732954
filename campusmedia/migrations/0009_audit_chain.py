"""The audit log's hash chain (campusmedia/audit/chain.py) and, on PostgreSQL, a trigger that
keeps the table append-only below the application.

The trigger refuses every DELETE and every UPDATE except the sealing of a row: filling
seq, prev_hash and hash of a row whose hash was NULL, with every other column unchanged (compared
as a whole row, so a column added later is covered too). INSERT stays open, chain values included,
so a restore can put rows back with their original ids and hashes.

There is deliberately no TRUNCATE trigger: the test suite and ``manage.py flush`` empty tables with
TRUNCATE on PostgreSQL. A table emptied that way restarts the chain at seq 1; ``verify_audit``
warns when the oldest row is younger than the retention period on a system that has run longer.

A later migration that rewrites existing audit rows (an UPDATE to fill a new column, say) must
``ALTER TABLE campusmedia_auditevent DISABLE TRIGGER campusmedia_audit_append_only`` around it,
and its rows' content then no longer matches their hashes: avoid it. Adding a nullable column or
one with a default rewrites no row through the trigger.

SQLite (the single-machine default) has no trigger: there the model and its queryset refuse
updates and deletes, and the chain shows any change made around them.
"""

from django.db import migrations, models

TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION campusmedia_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.hash IS NULL AND OLD.seq IS NULL AND OLD.prev_hash IS NULL
       AND NEW.hash IS NOT NULL AND NEW.seq IS NOT NULL AND NEW.prev_hash IS NOT NULL
       AND (to_jsonb(NEW) - 'seq' - 'prev_hash' - 'hash')
           = (to_jsonb(OLD) - 'seq' - 'prev_hash' - 'hash')
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Audit rows can be added, never changed or removed (SECURITY.md, Audit).';
END;
$$;
DROP TRIGGER IF EXISTS campusmedia_audit_append_only ON campusmedia_auditevent;
CREATE TRIGGER campusmedia_audit_append_only
    BEFORE UPDATE OR DELETE ON campusmedia_auditevent
    FOR EACH ROW EXECUTE FUNCTION campusmedia_audit_append_only();
"""

DROP_TRIGGER_SQL = """
DROP TRIGGER IF EXISTS campusmedia_audit_append_only ON campusmedia_auditevent;
DROP FUNCTION IF EXISTS campusmedia_audit_append_only();
"""


def _run_on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            # Without parameters: the function body's % is PL/pgSQL's, not a placeholder.
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(sql)

    return run


create_trigger = _run_on_postgresql(TRIGGER_SQL)
drop_trigger = _run_on_postgresql(DROP_TRIGGER_SQL)


class Migration(migrations.Migration):

    dependencies = [
        ('campusmedia', '0008_audit_import_backup_actions'),
    ]

    operations = [
        migrations.AddField(
            model_name='auditevent',
            name='hash',
            field=models.CharField(blank=True, editable=False, max_length=64, null=True, verbose_name='哈希'),
        ),
        migrations.AddField(
            model_name='auditevent',
            name='prev_hash',
            field=models.CharField(blank=True, editable=False, max_length=64, null=True, verbose_name='前一条哈希'),
        ),
        migrations.AddField(
            model_name='auditevent',
            name='seq',
            field=models.BigIntegerField(blank=True, editable=False, null=True, unique=True, verbose_name='链序号'),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='action',
            field=models.CharField(choices=[('login', '登录'), ('login_failed', '登录失败'), ('lockout', '账号锁定'), ('logout', '退出'), ('session_expired', '会话超时'), ('password_change', '修改密码'), ('role_assigned', '授予角色'), ('role_ended', '终止角色'), ('person_moved', '人员调动'), ('person_changed', '人员信息变更'), ('reveal', '查看完整个人信息'), ('unit_changed', '单位变更'), ('account_changed', '账号变更'), ('team_changed', '管理队伍变更'), ('denied', '越权访问'), ('request_step', '审批操作'), ('team_change', '登记管理队伍变更'), ('file_uploaded', '上传附件'), ('file_downloaded', '下载附件'), ('review_campaign', '开启年检'), ('review_step', '年检操作'), ('zero_report', '零报告'), ('close_ordered', '责令注销'), ('export', '导出'), ('filing_batch', '市网信办报备'), ('office_changed', '网信部门信息变更'), ('edition', '发布公开名录'), ('charter', '联盟章程'), ('membership', '联盟成员'), ('alliance_task', '互联互动任务'), ('notice', '政策通知'), ('prepublication', '发布前审批'), ('import', '导入'), ('backup', '备份'), ('restore', '恢复'), ('audit_verified', '校验审计日志')], db_index=True, max_length=24, verbose_name='事件'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(condition=models.Q(('hash__isnull', True)), fields=['id'], name='audit_unsealed_idx'),
        ),
        migrations.RunPython(create_trigger, drop_trigger, elidable=False),
    ]
