"""Coordinated publishing (互联互动): the task list, posting a task (the secretariat), a task's
completion, and each account's answer, in place with htmx.

Users who see none of a task's assignments get 404 for it; an answer for an account the user
cannot see is 404, for one they only read 403 (``alliance.permissions``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from alliance import permissions as perms
from alliance import selectors, services
from alliance.choices import AssignmentState
from alliance.forms.errors import apply_service_errors
from alliance.forms.tasks import AnswerForm, TaskForm
from alliance.models import Assignment, Task
from campusmedia.models import User
from campusmedia.permissions import Access, get_access
from filing.forms import first_error

TASKS_PER_PAGE = 30


@dataclass
class AssignmentRow:
    """One account's line of a task, with what the user may do on it."""

    assignment: Assignment
    can_answer: bool
    # On behalf of a unit (the secretariat): the forms stay folded until asked for.
    on_behalf: bool
    form: AnswerForm | None = None
    error: str = ""


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _reader(request: HttpRequest) -> Access:
    access = get_access(request)
    if not perms.may_read_alliance(access):
        raise PermissionDenied
    return access


def _row(access: Access, assignment: Assignment, **extra: Any) -> AssignmentRow:
    return AssignmentRow(
        assignment=assignment,
        can_answer=perms.may_answer(access, assignment),
        on_behalf=perms.is_secretariat(access),
        **extra,
    )


@require_GET
def task_list(request: HttpRequest) -> HttpResponse:
    access = _reader(request)
    tasks = selectors.task_list(access).annotate(open=F("total") - F("done") - F("declined"))
    page = Paginator(tasks, TASKS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "alliance/task_list.html",
        {
            "page": page,
            "tasks": page.object_list,
            "can_post": perms.is_secretariat(access),
            "reads_all": perms.reads_all(access),
        },
    )


@require_http_methods(["GET", "POST"])
def task_new(request: HttpRequest) -> HttpResponse:
    """Post a task to every member or to chosen members (the secretariat only)."""
    access = _reader(request)
    if not perms.is_secretariat(access):
        raise PermissionDenied
    if request.method == "GET":
        return _form_page(request, TaskForm(initial=TaskForm.initial_values()))
    form = TaskForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            task = services.task_post(
                actor=_user(request),
                title=data["title"],
                link=data["link"],
                due_at=data["due_at"],
                instructions=data["instructions"],
                source_account=data["source_account"],
                accounts=form.chosen_accounts(),
                request=request,
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request,
                _("已发布任务“%(title)s”，发送给 %(n)s 个成员账号。")
                % {"title": task.title, "n": task.assignments.count()},
            )
            return redirect(task)
    return _form_page(request, form, status=400)


def _form_page(request: HttpRequest, form: TaskForm, status: int = 200) -> HttpResponse:
    return render(
        request,
        "alliance/task_form.html",
        {"form": form, "chosen": form.chosen_ids()},
        status=status,
    )


@require_GET
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access = _reader(request)
    task = get_object_or_404(
        perms.visible_tasks(access).select_related("source_account__platform", "posted_by__person"),
        pk=pk,
    )
    assignments = selectors.task_assignments(access, task)
    counts = Counter(a.state for a in assignments)
    reads_all = perms.reads_all(access)
    return render(
        request,
        "alliance/task_detail.html",
        {
            "task": task,
            "rows": [_row(access, a) for a in assignments],
            "total": len(assignments),
            "done": counts[AssignmentState.DONE],
            "declined": counts[AssignmentState.DECLINED],
            "pending": counts[AssignmentState.PENDING],
            "reads_all": reads_all,
            "units": selectors.unit_progress(assignments) if reads_all else [],
        },
    )


def _figures(access: Access, task: Task) -> dict[str, int]:
    """The task's counts over the assignments the user sees (one query)."""
    counts = dict(
        perms.visible_assignments(access, task.assignments.all())
        .order_by()
        .values_list("state")
        .annotate(n=Count("id"))
    )
    done = counts.get(AssignmentState.DONE, 0)
    declined = counts.get(AssignmentState.DECLINED, 0)
    pending = counts.get(AssignmentState.PENDING, 0)
    return {
        "done": done,
        "declined": declined,
        "pending": pending,
        "total": done + declined + pending,
    }


def _visible_assignment(access: Access, pk: int) -> Assignment:
    queryset = Assignment.objects.select_related(
        "task", "account__owner_unit__parent", "account__platform", "answered_by__person"
    )
    return get_object_or_404(perms.visible_assignments(access, queryset), pk=pk)


@require_POST
def assignment_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """An account's answer: shared with the link, or not with the reason. An htmx request gets
    the updated row back (400 with the message, typed values kept); otherwise a redirect to
    the task with a page message."""
    access = _reader(request)
    assignment = _visible_assignment(access, pk)
    if not perms.may_answer(access, assignment):
        raise PermissionDenied
    form = AnswerForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            services.assignment_answer(
                assignment=assignment,
                actor=_user(request),
                done=form.done,
                post_link=form.cleaned_data["post_link"],
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
            error = first_error(form.errors)
    else:
        error = first_error(form.errors)
    if _htmx(request):
        assignment = _visible_assignment(access, pk)
        row = _row(access, assignment, form=form if error else None, error=error)
        context: dict[str, Any] = {"row": row}
        if not error:  # the figures at the top of the page follow, out of band
            context.update(_figures(access, assignment.task), oob=True, task=assignment.task)
        return render(
            request, "alliance/_task_answered.html", context, status=400 if error else 200
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(
            request,
            _("已记录 %(account)s 的反馈：%(state)s。")
            % {
                "account": assignment.account.name,
                "state": AssignmentState.DONE.label
                if form.done
                else AssignmentState.DECLINED.label,
            },
        )
    return redirect(assignment.task.get_absolute_url() + f"#assignment-{assignment.pk}")
