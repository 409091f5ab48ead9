"""Widgets. The UI calls core functions (through ``jobs`` for long work); it never decodes or queries inline
when that could take long."""
