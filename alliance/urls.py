from __future__ import annotations

from django.urls import path

from alliance.views import charter, home, members, notices, prepublication, tasks

app_name = "alliance"

urlpatterns = [
    path("", home.index, name="index"),
    # Charter
    path("charter/", charter.charter, name="charter"),
    path("charter/new/", charter.charter_new, name="charter_new"),
    path("charter/<int:number>/", charter.charter_version, name="charter_version"),
    # Members
    path("members/", members.member_list, name="members"),
    path("members/apply/", members.member_apply, name="member_apply"),
    path("members/<int:pk>/decide/", members.member_decide, name="member_decide"),
    path("members/accounts/<int:pk>/role/", members.member_role, name="member_role"),
    path("members/accounts/<int:pk>/leave/", members.member_leave, name="member_leave"),
    # Coordinated publishing
    path("tasks/", tasks.task_list, name="task_list"),
    path("tasks/new/", tasks.task_new, name="task_new"),
    path("tasks/<int:pk>/", tasks.task_detail, name="task_detail"),
    path("assignments/<int:pk>/answer/", tasks.assignment_answer, name="assignment_answer"),
    # Policy notices
    path("notices/", notices.notice_list, name="notice_list"),
    path("notices/new/", notices.notice_new, name="notice_new"),
    path("notices/<int:pk>/", notices.notice_detail, name="notice_detail"),
    path("notices/<int:pk>/read/", notices.notice_read, name="notice_read"),
    path("notices/<int:pk>/remind/", notices.notice_remind, name="notice_remind"),
    path("notices/attachments/<int:pk>/", notices.notice_attachment, name="notice_attachment"),
    # Pre-publication approval
    path("prepublications/", prepublication.prepub_list, name="prepub_list"),
    path("prepublications/new/", prepublication.prepub_new, name="prepub_new"),
    path("prepublications/<int:pk>/", prepublication.prepub_detail, name="prepub_detail"),
    path("prepublications/<int:pk>/edit/", prepublication.prepub_edit, name="prepub_edit"),
    path("prepublications/<int:pk>/<str:step>/", prepublication.prepub_step, name="prepub_step"),
]
