from django import forms


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        strip=True,
        widget=forms.TextInput(attrs={"placeholder": "e.g. production server", "autocomplete": "off"}),
    )
