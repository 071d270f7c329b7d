"""Reading spec files: safe YAML, the line of every key, validation into a :class:`Spec`.

A spec is read with YAML *safe* loading only. The line of every key is taken from the composed
YAML nodes, so that each problem, whether found in the YAML or by the schema, is reported as
``file:line: key rule`` (see :mod:`harness.spec.messages` for the wording)::

    specs/x.yaml:14: stride.max must be ≥ stride.min (got 0 < 1)

A spec is untrusted input, and nothing in it costs more than its size: a spec file is a regular
file of at most :data:`MAX_SPEC_BYTES` bytes of UTF-8, parsed once, and YAML anchors and aliases,
nesting beyond :data:`MAX_NESTING` and integers longer than :data:`MAX_INTEGER_DIGITS` are refused
with their line.

The default specs are the ``*.yaml`` files of the repository's ``specs/`` folder, or of
``$CONVT_SPECS_DIR`` when it is set.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from yaml.composer import Composer

from harness.errors import SpecError
from harness.spec.keys import Loc, dotted, lookup_line, normalized, normalized_part
from harness.spec.messages import describe_errors
from harness.spec.schema import Spec

SPECS_DIR_ENV = "CONVT_SPECS_DIR"
#: The largest spec file read, in bytes; a larger one is refused unread.
MAX_SPEC_BYTES = 1 << 20
#: How deep mappings and lists may nest in a spec (the default specs nest four levels).
MAX_NESTING = 32
#: The most characters an integer may have in a spec: far below Python's limit on converting
#: decimal text to ``int`` in any base, and far above any size a spec states.
MAX_INTEGER_DIGITS = 100

_INT_TAG = "tag:yaml.org,2002:int"
_NULL_TAG = "tag:yaml.org,2002:null"
_NO_ALIASES = "a {noun} may not use YAML anchors or aliases (write each value out where it is used)"


class _Refused(Exception):
    """A YAML construct a spec may not use, found while composing; becomes a :class:`SpecError`."""

    def __init__(self, event: yaml.Event, message: str) -> None:
        super().__init__(message)
        self.line = event.start_mark.line + 1 if event.start_mark is not None else None
        self.message = message


if getattr(yaml, "__with_libyaml__", False):

    class _Libyaml(Composer, yaml.CSafeLoader):
        """libyaml's safe loader, composing with PyYAML's (Python) composer rather than its own."""

        def __init__(self, text: str) -> None:
            yaml.CSafeLoader.__init__(self, text)
            Composer.__init__(self)

    _Safe: Any = _Libyaml
else:
    _Safe = yaml.SafeLoader


class _SpecLoader(_Safe):  # type: ignore[misc]
    """The safe loader, libyaml's where PyYAML has it, refusing what a spec must not contain.

    An alias makes one node the value of many keys, and whatever walks the nodes or the data (the
    line index, the schema, a merge key) expands it: a few hundred bytes of nested aliases become
    billions of nodes. A spec never needs one, so anchors and aliases are refused where they
    stand, as they are composed, and so is nesting deeper than :data:`MAX_NESTING` (which would
    exhaust Python's recursion limit in the composer, the line index or the schema).
    """

    def __init__(self, text: str, noun: str = "spec") -> None:
        super().__init__(text)
        self._depth = 0
        self._noun = noun

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """Compose one node, refusing an anchor, an alias or nesting beyond :data:`MAX_NESTING`."""
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(event, f"alias *{event.anchor}: {_NO_ALIASES.format(noun=self._noun)}")
        if isinstance(event, yaml.NodeEvent) and event.anchor is not None:
            raise _Refused(event, f"anchor &{event.anchor}: {_NO_ALIASES.format(noun=self._noun)}")
        nests = isinstance(event, yaml.CollectionStartEvent)
        if nests and self._depth == MAX_NESTING:
            raise _Refused(
                event,
                f"nested too deep: a {self._noun} nests mappings and lists at most {MAX_NESTING} levels",
            )
        self._depth += nests
        try:
            node: yaml.Node | None = super().compose_node(parent, index)
        finally:
            self._depth -= nests
        return node

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """Construct one node; a value error (``!!int x``) is reported at the node's line."""
        try:
            return super().construct_object(node, deep)
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(None, None, str(exc), node.start_mark) from None


def _index_yaml(
    node: yaml.Node,
    loc: Loc,
    lines: dict[tuple[str, ...], int],
    problems: list[tuple[int | None, str | None, str]],
) -> None:
    """Record the line of every key (mappings) and item (sequences) under ``node``."""
    if isinstance(node, yaml.ScalarNode):
        _check_scalar(node, loc, problems)
    elif isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            here = (*loc, key)
            line = key_node.start_mark.line + 1
            if normalized_part(key) in seen and key != "<<":
                problems.append((line, dotted(here), f"{dotted(here)} appears twice in the same mapping"))
            seen.add(normalized_part(key))
            lines.setdefault(normalized(here), line)
            if key_node.tag == _NULL_TAG:  # however the file spells it, the error names it null
                lines.setdefault(normalized((*loc, "null")), line)
            if isinstance(key_node, yaml.ScalarNode):
                _check_scalar(key_node, here, problems)
            _index_yaml(value_node, here, lines, problems)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            here = (*loc, i)
            lines.setdefault(normalized(here), item.start_mark.line + 1)
            if isinstance(item, yaml.ScalarNode):
                lines.setdefault(normalized((*loc, item.value)), item.start_mark.line + 1)
            _index_yaml(item, here, lines, problems)


def _check_scalar(
    node: yaml.ScalarNode, loc: Loc, problems: list[tuple[int | None, str | None, str]]
) -> None:
    """Refuse an integer too long to convert (Python limits decimal text to 4300 digits)."""
    if node.tag == _INT_TAG and len(node.value) > MAX_INTEGER_DIGITS:
        key = dotted(loc)
        problems.append(
            (
                node.start_mark.line + 1,
                key,
                f"{key} must be an integer of at most {MAX_INTEGER_DIGITS} digits (got {len(node.value)})",
            )
        )


def parse_spec(text: str, path: str | os.PathLike[str] | None = None) -> Spec:
    """Validate spec YAML text; ``path`` (shown as given in errors) becomes ``Spec.path``.

    The text is parsed once: anchors, aliases and nesting beyond :data:`MAX_NESTING` are refused
    as they are met, then every key's line is indexed, then the data is built and validated.
    """
    spec, lines = parse_yaml_model(text, path, Spec)
    spec._lines = lines
    spec._path = Path(path) if path is not None else None
    return spec


_M = TypeVar("_M", bound=BaseModel)


def parse_yaml_model(
    text: str,
    path: str | os.PathLike[str] | None,
    model: type[_M],
    *,
    noun: str = "spec",
    error: type[SpecError] = SpecError,
) -> tuple[_M, dict[tuple[str, ...], int]]:
    """YAML text validated into ``model`` as a spec is, with the line of every key.

    Every problem is an ``error`` (``file:line: key rule``; ``noun`` names the kind of file).
    """
    shown = str(path) if path is not None else f"<{noun}>"
    loader = _yaml_step(shown, lambda: _SpecLoader(text, noun), error)
    try:
        root = _yaml_step(shown, loader.get_single_node, error)
        if root is None:
            raise error(shown, 1, None, f"empty {noun}: expected a mapping of keys")
        if not isinstance(root, yaml.MappingNode):
            raise error(shown, root.start_mark.line + 1, None, f"a {noun} must be a mapping of keys")
        lines: dict[tuple[str, ...], int] = {}
        problems: list[tuple[int | None, str | None, str]] = []
        _index_yaml(root, (), lines, problems)
        if not problems:
            data = _yaml_step(shown, lambda: loader.construct_document(root), error)
            if not isinstance(data, dict):
                raise error(shown, root.start_mark.line + 1, None, f"a {noun} must be a mapping of keys")
            try:
                validated = model.model_validate(data)
            except ValidationError as exc:
                for loc, message in describe_errors(exc.errors(), model):
                    line = lookup_line(lines, loc) or (root.start_mark.line + 1)
                    problems.append((line, dotted(loc) or None, message))
    finally:
        loader.dispose()
    if problems:
        problems.sort(key=lambda p: p[0] or 0)
        first = problems[0]
        raise error(shown, first[0], first[1], first[2], problems)
    return validated, lines


_T = TypeVar("_T")


def _yaml_step(shown: str, step: Callable[[], _T], error: type[SpecError] = SpecError) -> _T:
    """Run one step of the YAML loader, turning its errors into ``error``."""
    try:
        return step()
    except _Refused as exc:
        raise error(shown, exc.line, None, exc.message) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = " ".join(p for p in (exc.context, exc.problem) if p)
        raise error(shown, line, None, f"malformed YAML: {what}") from None
    except yaml.YAMLError as exc:
        raise error(shown, None, None, f"malformed YAML: {exc}") from None


def read_yaml_text(
    path: str | os.PathLike[str], *, noun: str = "spec", error: type[SpecError] = SpecError
) -> str:
    """The text of a spec (or another YAML input, named ``noun``): a regular file of at most
    :data:`MAX_SPEC_BYTES` bytes of UTF-8; any problem is an ``error``.

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
                raise error(
                    path,
                    None,
                    None,
                    f"cannot read {noun}: not a regular file (a {noun} is a file, not a pipe or a device)",
                )
            data = file.read(MAX_SPEC_BYTES + 1)
    except OSError as exc:
        raise error(path, None, None, f"cannot read {noun}: {exc.strerror or exc}") from None
    if len(data) > MAX_SPEC_BYTES:
        raise error(
            path,
            None,
            None,
            f"{noun} file is larger than {MAX_SPEC_BYTES} bytes (the limit on a {noun} file)",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(
            path,
            line,
            None,
            f"{noun} is not UTF-8 text (byte 0x{data[exc.start]:02x} cannot be decoded); "
            f"a {noun} must be UTF-8",
        ) from None


def load_spec(path: str | os.PathLike[str]) -> Spec:
    """Load and validate one spec file; raise :class:`SpecError` (``file:line: key rule``)."""
    return parse_spec(read_yaml_text(path), path)


def specs_dir() -> Path:
    """The directory holding the default specs: ``$CONVT_SPECS_DIR`` or the repository's specs/."""
    override = os.environ.get(SPECS_DIR_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "specs"


def default_spec_paths() -> list[Path]:
    """The default spec files: ``*.yaml`` in :func:`specs_dir` and in its sub-folders (the int8
    specs of ``specs/int8/``), those of the folder itself first, each group sorted by name."""
    directory = specs_dir()
    if not directory.is_dir():
        raise SpecError(directory, None, None, "spec directory does not exist")
    return sorted(directory.rglob("*.yaml"), key=lambda p: (len(p.relative_to(directory).parts), p))


def load_default_specs() -> list[Spec]:
    """Load every default spec (see :func:`default_spec_paths`)."""
    return [load_spec(p) for p in default_spec_paths()]


def load_default_float_specs() -> list[Spec]:
    """The default specs without a quantization block: the float cases whose geometry the audits
    draw from, and whose calls every target makes."""
    return [spec for spec in load_default_specs() if spec.quantization is None]
