"""Reading spec files: safe YAML, the line of every key, validation into a :class:`Spec`.

A spec is read with YAML *safe* loading only. The line of every key is taken from the composed
YAML nodes, so that each problem, whether found in the YAML or by the schema, is reported as
``file:line: key rule`` (see :mod:`harness.spec.messages` for the wording)::

    specs/x.yaml:14: stride.max must be ≥ stride.min (got 0 < 1)

A spec file is a regular file of at most :data:`MAX_SPEC_BYTES` bytes of UTF-8: anything else is
refused before it is parsed.

The default specs are the ``*.yaml`` files of the repository's ``specs/`` folder, or of
``$CONVT_SPECS_DIR`` when it is set.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import yaml
from pydantic import ValidationError

from harness.errors import SpecError
from harness.spec.keys import Loc, dotted, lookup_line, normalized, normalized_part
from harness.spec.messages import describe_errors
from harness.spec.schema import Spec

SPECS_DIR_ENV = "CONVT_SPECS_DIR"
#: The largest spec file read, in bytes; a larger one is refused unread.
MAX_SPEC_BYTES = 1 << 20


def _index_yaml(
    node: yaml.Node,
    loc: Loc,
    lines: dict[tuple[str, ...], int],
    problems: list[tuple[int | None, str | None, str]],
) -> None:
    """Record the line of every key (mappings) and item (sequences) under ``node``."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            here = (*loc, key)
            line = key_node.start_mark.line + 1
            if normalized_part(key) in seen and key != "<<":
                problems.append((line, dotted(here), f"{dotted(here)} appears twice in the same mapping"))
            seen.add(normalized_part(key))
            lines.setdefault(normalized(here), line)
            _index_yaml(value_node, here, lines, problems)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            here = (*loc, i)
            lines.setdefault(normalized(here), item.start_mark.line + 1)
            if isinstance(item, yaml.ScalarNode):
                lines.setdefault(normalized((*loc, item.value)), item.start_mark.line + 1)
            _index_yaml(item, here, lines, problems)


def parse_spec(text: str, path: str | os.PathLike[str] | None = None) -> Spec:
    """Validate spec YAML text; ``path`` (shown as given in errors) becomes ``Spec.path``."""
    shown = str(path) if path is not None else "<spec>"
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.load(text, Loader=yaml.SafeLoader)  # the safe loader, as yaml.safe_load does
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = " ".join(p for p in (exc.context, exc.problem) if p)
        raise SpecError(shown, line, None, f"malformed YAML: {what}") from None
    except yaml.YAMLError as exc:
        raise SpecError(shown, None, None, f"malformed YAML: {exc}") from None
    if root is None:
        raise SpecError(shown, 1, None, "empty spec: expected a mapping of keys")
    if not isinstance(root, yaml.MappingNode) or not isinstance(data, dict):
        raise SpecError(shown, root.start_mark.line + 1, None, "a spec must be a mapping of keys")
    lines: dict[tuple[str, ...], int] = {}
    problems: list[tuple[int | None, str | None, str]] = []
    _index_yaml(root, (), lines, problems)
    if not problems:
        try:
            spec = Spec.model_validate(data)
        except ValidationError as exc:
            for loc, message in describe_errors(exc.errors()):
                line = lookup_line(lines, loc) or (root.start_mark.line + 1)
                problems.append((line, dotted(loc) or None, message))
    if problems:
        problems.sort(key=lambda p: p[0] or 0)
        first = problems[0]
        raise SpecError(shown, first[0], first[1], first[2], problems)
    spec._lines = lines
    spec._path = Path(path) if path is not None else None
    return spec


def _read_spec_text(path: str | os.PathLike[str]) -> str:
    """The text of a spec file: a regular file of at most :data:`MAX_SPEC_BYTES` bytes of UTF-8.

    A pipe or a device (``/dev/zero``) is refused without waiting on it, and a file too large is
    refused after reading one byte past the limit, so that neither hangs nor fills memory.
    """
    try:
        # O_NONBLOCK: opening a FIFO that no one writes to returns at once instead of waiting
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as file:
            mode = os.fstat(file.fileno()).st_mode
            if stat.S_ISDIR(mode):  # worded as reading a folder always was
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
            if not stat.S_ISREG(mode):
                raise SpecError(
                    path,
                    None,
                    None,
                    "cannot read spec: not a regular file (a spec is a file, not a pipe or a device)",
                )
            data = file.read(MAX_SPEC_BYTES + 1)
    except OSError as exc:
        raise SpecError(path, None, None, f"cannot read spec: {exc.strerror or exc}") from None
    if len(data) > MAX_SPEC_BYTES:
        raise SpecError(
            path, None, None, f"spec file is larger than {MAX_SPEC_BYTES} bytes (the limit on a spec file)"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SpecError(
            path,
            line,
            None,
            f"spec is not UTF-8 text (byte 0x{data[exc.start]:02x} cannot be decoded); a spec must be UTF-8",
        ) from None


def load_spec(path: str | os.PathLike[str]) -> Spec:
    """Load and validate one spec file; raise :class:`SpecError` (``file:line: key rule``)."""
    return parse_spec(_read_spec_text(path), path)


def specs_dir() -> Path:
    """The directory holding the default specs: ``$CONVT_SPECS_DIR`` or the repository's specs/."""
    override = os.environ.get(SPECS_DIR_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "specs"


def default_spec_paths() -> list[Path]:
    """The default spec files (``*.yaml`` in :func:`specs_dir`), sorted by name."""
    directory = specs_dir()
    if not directory.is_dir():
        raise SpecError(directory, None, None, "spec directory does not exist")
    return sorted(directory.glob("*.yaml"))


def load_default_specs() -> list[Spec]:
    """Load every default spec (see :func:`default_spec_paths`)."""
    return [load_spec(p) for p in default_spec_paths()]
