from django import forms


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        strip=True,
        widget=forms.TextInput(attrs={"placeholder": "e.g. production server", "autocomplete": "off"}),
    )
    is_test = forms.BooleanField(
        required=False, label="Test key",
        help_text="Never charged and not counted as usage; results are scaled to 0.25 MP.",
    )
