"""The platform catalogue of DOMAIN.md section 3."""

from django.db import migrations

PLATFORMS = [
    ("wechat", "微信公众号", ["服务号", "订阅号"]),
    ("wechat_channels", "微信视频号", []),
    ("weibo", "微博", []),
    ("douyin", "抖音", []),
    ("kuaishou", "快手", []),
    ("bilibili", "哔哩哔哩", []),
    ("xiaohongshu", "小红书", []),
    ("toutiao", "今日头条", []),
    ("qq", "QQ", ["QQ公众号", "QQ群", "QQ空间"]),
    ("app", "移动客户端（APP）", []),
    ("mini_program", "小程序", ["微信小程序", "其他小程序"]),
    ("other", "其他", []),
]


def add_platforms(apps, schema_editor):
    Platform = apps.get_model("campusmedia", "Platform")
    for order, (code, name, types) in enumerate(PLATFORMS, start=1):
        Platform.objects.update_or_create(
            code=code, defaults={"name": name, "account_types": types, "sort_order": order}
        )


class Migration(migrations.Migration):
    dependencies = [("campusmedia", "0001_initial")]
    operations = [migrations.RunPython(add_platforms, migrations.RunPython.noop)]
