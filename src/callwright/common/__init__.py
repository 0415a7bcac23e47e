"""Helpers shared by every file format an author writes (flows, scorecards, caller scripts).

`source`: YAML read with line and column for every value, so errors say `file:line:col`;
`expr`: the safe expression language of flow conditions and scorecard conditions.
Both sit at the bottom of the package layers (docs/architecture.md): anything may use them.
"""
