#!/usr/bin/env python3
"""Prints the README's configuration table from include/sparsetrain/cli/config_keys.h,
the one place where keys are declared (run it after adding a key and paste the output)."""
import pathlib
import re

cli = pathlib.Path(__file__).resolve().parent.parent / "include/sparsetrain/cli"
src = (cli / "config_keys.h").read_text()
# Enum keys: ST_OPTION_NAMES(Enum, {Enum::Value, "name"}, ...) in option_enums.h.
enum_names = {}
for enum, body in re.findall(r"ST_OPTION_NAMES\((\w+), (.*)\)\n", (cli / "option_enums.h").read_text()):
    enum_names[enum] = re.findall(r'\{\w+::(\w+), "(\w+)"\}', body)
src = src.replace("\\\n", " ")
entry = re.compile(r'X\((\w+),\s*(\w+),\s*([\w:]+),\s*("(?:[^"\\]|\\.)*"|[-\w.+:]+),\s*(\w+(?:<\w+>)?\((?:[^()]|\([^()]*\))*\)),\s*((?:"(?:[^"\\]|\\.)*"\s*)+)\)')
print("| key | default | allowed | meaning |")
print("| --- | --- | --- | --- |")
for sec, name, typ, default, rule, help_text in entry.findall(src):
    help_text = " ".join(s[1:-1] for s in re.findall(r'"(?:[^"\\]|\\.)*"', help_text))
    default = default.strip('"') if default.startswith('"') else default
    if typ in enum_names:  # Enum::Value -> its name; one_of_enum<Enum>() -> the names
        default = dict(enum_names[typ])[default.split("::")[1]]
        rule = "one_of({" + ", ".join(f'"{n}"' for _, n in enum_names[typ]) + "})"
    rule = rule.replace("one_of({", "").replace("})", "").replace('"', "")
    rule = re.sub(r"int_range\((.*), (.*)\)", r"integer \1 .. \2", rule)
    rule = re.sub(r"real_range\((.*), (.*)\)", r"number \1 .. \2", rule)
    rule = re.sub(r"int_list\((.*), (.*)\)", r"integers \1 .. \2, comma separated", rule)
    rule = {"any_text()": "text", "nonempty_text()": "non-empty text", "any_bool()": "true/false",
            "fraction_list()": "numbers in (0, 1], comma separated"}.get(rule, rule)
    rule = rule.replace("LL", "")
    print(f"| `{sec}.{name}` | `{default}` | {rule.replace('|', '/')} | {help_text.replace('|', '/')} |")
