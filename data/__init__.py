"""The data files sgs ships: field registry, scoring schemes, publication policy, working-day schedules.

Installed as the package ``sgs_data`` (pyproject.toml maps it to this folder) so that an installed sgs reads
them through ``importlib.resources``; a source checkout reads the folder directly (``core.settings``).
Nothing here is code.
"""
