"""``settings list|get|set``: the registry's settings (:mod:`vru_desktop.settings`) from the command line."""

from __future__ import annotations

import argparse
import json
from typing import Any

from vru_desktop.cli.common import Context, print_json
from vru_desktop.errors import ValidationError
from vru_desktop.settings import get_setting, set_setting, setting_spec, stored_settings


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("settings", help="list, show or change settings")
    actions = p.add_subparsers(dest="settings_action", metavar="list|get|set", required=True)
    listing = actions.add_parser("list", help="every setting with its value, default and allowed values")
    listing.add_argument("--json", action="store_true", help="print one JSON document")
    listing.set_defaults(handler=cmd_list)
    get = actions.add_parser("get", help="the value of one setting")
    get.add_argument("key", metavar="KEY")
    get.add_argument("--json", action="store_true")
    get.set_defaults(handler=cmd_get)
    put = actions.add_parser("set", help="change a setting (without VALUE: back to its default)")
    put.add_argument("key", metavar="KEY")
    put.add_argument("value", metavar="VALUE", nargs="?", help="a number, true/false, a choice or JSON")
    put.add_argument("--json", action="store_true")
    put.set_defaults(handler=cmd_set)


def _describe(key: str, value: Any) -> dict[str, Any]:
    spec = setting_spec(key)
    return {
        "key": key,
        "value": value,
        "default": spec.default,
        "type": spec.kind,
        "allowed": spec.range_text(),
        "description": spec.description,
        "remembered": spec.remembered,
    }


def _line(entry: dict[str, Any]) -> str:
    value = json.dumps(entry["value"], ensure_ascii=False)
    default = "" if entry["value"] == entry["default"] else f"  (default {json.dumps(entry['default'])})"
    return f"{entry['key']} = {value}{default}"


def cmd_list(args: argparse.Namespace, ctx: Context) -> int:
    entries = [_describe(key, value) for key, value in stored_settings(ctx.db).items()]
    if args.json:
        print_json(entries)
        return 0
    for entry in entries:
        print(_line(entry))
        note = " Remembered from what you do." if entry["remembered"] else f" {entry['allowed']}"
        print(f"    {entry['description']}{note}")
    return 0


def cmd_get(args: argparse.Namespace, ctx: Context) -> int:
    entry = _describe(args.key, get_setting(ctx.db, args.key))
    if args.json:
        print_json(entry)
    else:
        print(json.dumps(entry["value"], ensure_ascii=False))
    return 0


def cmd_set(args: argparse.Namespace, ctx: Context) -> int:
    spec = setting_spec(args.key)
    if args.value is None:
        value = set_setting(ctx.db, args.key, None)
    elif spec.remembered:
        raise ValidationError(
            f"{args.key} is remembered from what you do in the window, not set by hand.",
            hint=f"'vru-desktop settings set {args.key}' without a value forgets it.",
        )
    else:
        value = set_setting(ctx.db, args.key, spec.parse(args.value))
    entry = _describe(args.key, value)
    if args.json:
        print_json(entry)
    else:
        print(_line(entry))
    return 0
