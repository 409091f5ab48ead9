"""Campaigns: a frozen video set × one model configuration × the protocols to score, with requirements.

:mod:`.definition` creates and launches them (their runs are ordinary runs), :mod:`.scoring` pools
their videos' results, :mod:`.bootstrap` gives intervals, :mod:`.requirements` and :mod:`.compare`
gate and compare them, :mod:`.report` writes the HTML report.
"""
