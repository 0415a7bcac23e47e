"""Flow diagrams: Graphviz (DOT, SVG, PNG) and Mermaid, drawn from the same edge list
the checker and the runtime use, with retry, timeout and failure edges styled apart."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from callwright.errors import CallwrightError
from callwright.flows.model import Ask, Edge, Flow, Hangup, Queue, Return, Subflow, Survey, Transfer, edges

_SHAPES = {
    "play": "box",
    "ask": "box",
    "survey": "box",
    "set": "note",
    "branch": "diamond",
    "hours": "diamond",
    "queue": "doubleoctagon",
    "transfer": "doubleoctagon",
    "hangup": "Msquare",
    "record": "cylinder",
    "subflow": "component",
    "return": "Msquare",
    "http": "box3d",
    "function": "box3d",
}
_EDGE_STYLE = {
    "retry": 'style=dashed color="#888888"',
    "failure": 'style=dashed color="#c0392b"',
    "global": 'style=dotted color="#2c7fb8"',
    "callback": 'color="#e67e22"',
}


def _q(s: str) -> str:
    esc = s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{esc}"'


def _mq(s: str) -> str:
    """Text for a Mermaid line: one line, no quotes (the loader's name patterns already refuse
    such names; this keeps a diagram well-formed whatever a future field lets through)."""
    return " ".join(s.split()).replace('"', "#quot;")


def _label(e: Edge) -> str:
    if e.kind == "retry":
        return e.label.replace("_", "-")
    if e.label == "max_retries":
        return "max retries"
    return e.label.removeprefix("choice:")


def to_dot(flow: Flow) -> str:
    lines = [
        f"digraph {_q(flow.name)} {{",
        "  rankdir=LR;",
        '  node [fontname="Helvetica" fontsize=10 style=filled fillcolor="#f7f7f7"];',
        '  edge [fontname="Helvetica" fontsize=9];',
        "  __start [shape=point];",
    ]
    _dot_body(flow, "", lines)
    lines.append(f"  __start -> {_q(flow.start)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_body(flow: Flow, prefix: str, lines: list[str]) -> None:
    for name, st in flow.states.items():
        match st:
            case Ask():
                extra = f"\n{st.answer.collect}"
            case Queue():
                extra = f"\nqueue {st.queue}"
            case Survey():
                extra = f"\n{st.question}"
            case _:
                extra = ""
        lines.append(
            f"  {_q(prefix + name)} [shape={_SHAPES.get(st.type, 'box')} "
            f"label={_q(name + chr(10) + '(' + st.type + ')' + extra)}];"
        )
    seen_retry: set[str] = set()
    for e in edges(flow):
        src, dst = _q(prefix + e.source), _q(prefix + e.target)
        if e.kind == "retry":
            if e.source in seen_retry:
                continue  # one loop per state: "no-input / no-match"
            seen_retry.add(e.source)
            lines.append(f'  {src} -> {src} [label="no-input / no-match" {_EDGE_STYLE["retry"]}];')
            continue
        if e.kind == "call":
            continue
        style = _EDGE_STYLE.get(e.kind, "")
        lines.append(f"  {src} -> {dst} [label={_q(_label(e))} {style}];")
    for name, st in flow.states.items():
        if isinstance(st, Subflow) and st.subflow in flow.subflows:
            sub = flow.subflows[st.subflow]
            sp = f"{prefix}{name}."
            lines.append(
                f"  subgraph {_q('cluster_' + sp)} {{ label={_q(st.subflow or '')}; "
                'style=rounded; color="#999999";'
            )
            _dot_body(sub, sp, lines)
            lines.append("  }")
            lines.append(f"  {_q(prefix + name)} -> {_q(sp + sub.start)} [label=call];")
            for rname, rst in sub.states.items():
                if isinstance(rst, Return) and st.next:
                    lines.append(f"  {_q(sp + rname)} -> {_q(prefix + st.next)} [label=return style=dashed];")


def to_mermaid(flow: Flow) -> str:
    ids: dict[str, str] = {}

    def nid(name: str) -> str:
        return ids.setdefault(name, f"s{len(ids)}")

    lines = ["stateDiagram-v2", f"  [*] --> {nid(flow.start)}"]
    _mmd_body(flow, "", lines, nid)
    for name, i in ids.items():
        lines.insert(1, f'  state "{_mq(name)}" as {i}')
    return "\n".join(lines) + "\n"


def _mmd_body(flow: Flow, prefix: str, lines: list[str], nid) -> None:
    seen_retry: set[str] = set()
    for e in edges(flow):
        if e.kind == "call":
            continue
        if e.kind == "retry":
            if e.source in seen_retry:
                continue
            seen_retry.add(e.source)
            lines.append(f"  {nid(prefix + e.source)} --> {nid(prefix + e.source)}: no-input / no-match")
            continue
        lines.append(f"  {nid(prefix + e.source)} --> {nid(prefix + e.target)}: {_mq(_label(e))}")
    for name, st in flow.states.items():
        if isinstance(st, (Hangup, Queue)) and not prefix:
            lines.append(f"  {nid(prefix + name)} --> [*]")
        elif isinstance(st, Transfer) and not prefix and not (st.transferred and st.failed):
            lines.append(f"  {nid(prefix + name)} --> [*]")  # a result without its edge ends the call
        if isinstance(st, Subflow) and st.subflow in flow.subflows:
            sub = flow.subflows[st.subflow]
            sp = f"{prefix}{name}."
            lines.append(f"  {nid(prefix + name)} --> {nid(sp + sub.start)}: call")
            _mmd_body(sub, sp, lines, nid)
            for rname, rst in sub.states.items():
                if isinstance(rst, Return) and st.next:
                    lines.append(f"  {nid(sp + rname)} --> {nid(prefix + st.next)}: return")


def write_graph(flow: Flow, output: Path) -> None:
    """Write the diagram in the format the file extension names."""
    ext = output.suffix.lower()
    if ext in (".mmd", ".mermaid"):
        output.write_text(to_mermaid(flow), encoding="utf-8")
        return
    dot = to_dot(flow)
    if ext in (".dot", ".gv"):
        output.write_text(dot, encoding="utf-8")
        return
    if ext not in (".svg", ".png", ".pdf"):
        raise CallwrightError(f"{output}: unknown diagram format '{ext}'; use .svg, .png, .pdf, .dot or .mmd")
    exe = shutil.which("dot")
    if exe is None:
        raise CallwrightError(
            "Graphviz's `dot` is not installed, so SVG/PNG cannot be drawn",
            hint="install it (apt-get install graphviz) or write .mmd or .dot",
        )
    proc = subprocess.run(
        [exe, f"-T{ext[1:]}", "-o", str(output)],
        input=dot.encode(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    if proc.returncode != 0:
        raise CallwrightError(f"Graphviz failed: {proc.stderr.decode(errors='replace')[:500]}")
