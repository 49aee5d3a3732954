"""Putting a service's refusal on the form that was sent, field by field."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from annual_review.forms import LabelledErrorsMixin


def apply_service_errors(form: LabelledErrorsMixin, error: ValidationError) -> None:
    """Each message of ``error`` on the field it names (on top of the form otherwise). The
    services name the field in the message itself (``标题：…``), so a message stays readable
    wherever it lands."""
    if hasattr(error, "error_dict"):
        for name, messages in error.message_dict.items():
            for message in messages:
                form.add_service_error(name, message)
        return
    for message in error.messages:
        form.add_service_error("__all__", message)
