"""The staff page of a price controller, for both markets: staff change only the controller's ``EDITABLE`` fields.

The form is checked against the row as it is now (with the staff's changes applied), so a bound the price would
break is refused on the form; the save then writes only the changed fields under the row's lock
(``bidbook.book.update_controller``), so a tick committing meanwhile keeps its price and utilization. A change that a
tick made invalid in between is refused with a message, never a server error.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect

from bidbook.book import update_controller
from core.errors import DomainError


class ControllerForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        model = type(self.instance)
        current = model.objects.filter(pk=self.instance.pk).first()
        if current is None:
            return cleaned
        for name in self.changed_data:
            if name in model.EDITABLE and name in cleaned:
                setattr(current, name, cleaned[name])
        try:
            current.validate_constraints()
        except ValidationError as exc:
            raise ValidationError(
                f"With these values floor {current.floor} <= price {current.price} <= ceiling {current.ceiling} "
                "(floor > 0) would not hold, or target or smoothing would leave (0, 1]. Prices move only with ticks."
            ) from exc
        return cleaned


class ControllerAdmin(admin.ModelAdmin):
    form = ControllerForm

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in obj.EDITABLE}
        if changes:
            update_controller(type(obj), pk=obj.pk, changes=changes)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:  # a tick moved the price out of the new bounds between the form and the save
            self.message_user(request, exc.detail, messages.ERROR)
            return HttpResponseRedirect(request.path)
