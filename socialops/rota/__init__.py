"""Rotas, on-call and SLAs: who is on duty at an instant, due times, coverage and fairness.

``models`` holds the organisation-file models (validated by :mod:`socialops.config`);
``calendar`` business hours and due times; ``schedule`` the rota engine, and ``planner`` the
on-call shifts it gives out; ``checks`` coverage, limits and fairness; ``ics`` the iCalendar
export. This package imports nothing from here so that ``socialops.config`` can import
``socialops.rota.models`` without a cycle.
"""
