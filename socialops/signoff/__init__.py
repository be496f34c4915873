"""Sign-off: reply drafts and planned posts, approval policies, approvals, publishing.

- :mod:`.policy`: the ``sign_off:`` block of a department and how approvals fill its slots.
- :mod:`.templates`: reply texts from Jinja2 templates, within each platform's length limit.
- :mod:`.drafts`: drafts for open assignments, edits, planned posts.
- :mod:`.approvals`: who may approve now (policy and rota), approve, reject, expire, views.
- :mod:`.publishing`: claiming approved items, recording outcomes, reconciling unknown ones.

Plain Python over the caller's session (no Prefect). Every change is audited
(``storage.audit``, subject ``draft``) with who, when, what and the text before and after.
This package's ``__init__`` imports nothing, so :mod:`socialops.config` can import the policy.
"""
