"""Nothing from the consent app is registered in the Django admin, on purpose.

An individual's consent is visible to that employee alone: administrators
and officers must not browse subjects, consent events, states, receipts or
erasure requests.  Notices, the allowlist and retention are changed through
the officer console and the API, whose services write the audit entries an
admin form would skip.
"""
