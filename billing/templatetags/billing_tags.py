"""Billing facts for any template, so pages owned by other apps need not import billing."""

from django import template

from billing.state import membership_label

register = template.Library()


@register.simple_tag
def plan_label(user) -> str:
    """The user's plan label (e.g. "Free", "Premium-20000")."""
    return membership_label(user_id=user.id)
