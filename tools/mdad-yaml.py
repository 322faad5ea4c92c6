# Reads YAML files the way Ansible does (PyYAML, YAML 1.1: `yes` is true, and the loose
# indentation of multi-line quoted strings that MDAD's defaults use) and prints them as one JSON
# object {path: data} for tools/mdad-rules.ts. Every mapping gets "__line__", its first line
# (1-based), so that the tables can name the line of each task.
import json
import sys

import yaml


class LineLoader(yaml.SafeLoader):
    pass


def mapping_with_line(loader, node, deep=False):
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


def tagged_scalar(loader, node):
    return loader.construct_scalar(node)


LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping_with_line)
for tag in ("!unsafe", "!vault"):
    LineLoader.add_constructor(tag, tagged_scalar)

out = {}
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as handle:
        out[path] = yaml.load(handle, Loader=LineLoader)
json.dump(out, sys.stdout, default=str)
