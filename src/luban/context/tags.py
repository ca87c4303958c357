"""What one source file defines and references, read with tree-sitter queries: the repo map's raw material.

Each language's query captures `@def` (the definition node) with its `@name`, and `@ref` for names used at
call sites and in type positions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import PurePath

LANGUAGES = {
    ".py": "python",
    ".js": "javascript", ".jsx": "javascript", ".mjs": "javascript", ".cjs": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hh": "cpp", ".hpp": "cpp", ".hxx": "cpp",
}  # fmt: skip

_PYTHON = """
(class_definition name: (identifier) @name) @def
(function_definition name: (identifier) @name) @def
(call function: (identifier) @ref)
(call function: (attribute attribute: (identifier) @ref))
(class_definition superclasses: (argument_list (identifier) @ref))
(decorator (identifier) @ref)
(type (identifier) @ref)
(type (attribute attribute: (identifier) @ref))
(generic_type (identifier) @ref)
(import_from_statement name: (dotted_name (identifier) @ref))
(aliased_import name: (dotted_name (identifier) @ref))
"""

# Shared by JavaScript, TypeScript and TSX; each dialect adds the shapes only its grammar has.
_ECMASCRIPT = """
(class_declaration name: (_) @name) @def
(function_declaration name: (identifier) @name) @def
(generator_function_declaration name: (identifier) @name) @def
(method_definition name: (property_identifier) @name) @def
(lexical_declaration (variable_declarator name: (identifier) @name
  value: [(arrow_function) (function_expression)])) @def
(variable_declaration (variable_declarator name: (identifier) @name
  value: [(arrow_function) (function_expression)])) @def
(call_expression function: (identifier) @ref)
(call_expression function: (member_expression property: (property_identifier) @ref))
(new_expression constructor: (identifier) @ref)
(import_specifier name: (identifier) @ref)
"""

_JAVASCRIPT = _ECMASCRIPT + """
(field_definition property: (property_identifier) @name value: [(arrow_function) (function_expression)]) @def
(class_heritage (identifier) @ref)
"""

_TYPESCRIPT = _ECMASCRIPT + """
(public_field_definition name: (property_identifier) @name value: [(arrow_function) (function_expression)]) @def
(abstract_class_declaration name: (type_identifier) @name) @def
(interface_declaration name: (type_identifier) @name) @def
(type_alias_declaration name: (type_identifier) @name) @def
(enum_declaration name: (identifier) @name) @def
(method_signature name: (property_identifier) @name) @def
(abstract_method_signature name: (property_identifier) @name) @def
(extends_clause value: (identifier) @ref)
(type_identifier) @ref
"""

_GO = """
(function_declaration name: (identifier) @name) @def
(method_declaration name: (field_identifier) @name) @def
(type_spec name: (type_identifier) @name) @def
(method_elem name: (field_identifier) @name) @def
(call_expression function: (identifier) @ref)
(call_expression function: (selector_expression field: (field_identifier) @ref))
(type_identifier) @ref
"""

_RUST = """
(struct_item name: (type_identifier) @name) @def
(enum_item name: (type_identifier) @name) @def
(union_item name: (type_identifier) @name) @def
(trait_item name: (type_identifier) @name) @def
(type_item name: (type_identifier) @name) @def
(impl_item type: (type_identifier) @name) @def
(impl_item type: (generic_type type: (type_identifier) @name)) @def
(function_item name: (identifier) @name) @def
(function_signature_item name: (identifier) @name) @def
(macro_definition name: (identifier) @name) @def
(call_expression function: (identifier) @ref)
(call_expression function: (field_expression field: (field_identifier) @ref))
(call_expression function: (scoped_identifier name: (identifier) @ref))
(macro_invocation macro: (identifier) @ref)
(use_list (identifier) @ref)
(scoped_identifier name: (identifier) @ref)
(type_identifier) @ref
"""

_JAVA = """
(class_declaration name: (identifier) @name) @def
(interface_declaration name: (identifier) @name) @def
(enum_declaration name: (identifier) @name) @def
(record_declaration name: (identifier) @name) @def
(annotation_type_declaration name: (identifier) @name) @def
(method_declaration name: (identifier) @name) @def
(constructor_declaration name: (identifier) @name) @def
(method_invocation name: (identifier) @ref)
(object_creation_expression type: (type_identifier) @ref)
(type_identifier) @ref
"""

_C = """
(function_definition declarator: (function_declarator declarator: (identifier) @name)) @def
(function_definition declarator: (pointer_declarator
  declarator: (function_declarator declarator: (identifier) @name))) @def
(declaration declarator: (function_declarator declarator: (identifier) @name)) @def
(struct_specifier name: (type_identifier) @name body: (_)) @def
(union_specifier name: (type_identifier) @name body: (_)) @def
(enum_specifier name: (type_identifier) @name body: (_)) @def
(type_definition declarator: (type_identifier) @name) @def
(call_expression function: (identifier) @ref)
(type_identifier) @ref
"""

# C++ adds classes, members declared in a class, and out-of-class definitions (`Matrix::at`).
_CPP = _C + """
(class_specifier name: (type_identifier) @name body: (_)) @def
(function_definition declarator: (function_declarator declarator: (field_identifier) @name)) @def
(function_definition declarator: (function_declarator
  declarator: (qualified_identifier name: (identifier) @name))) @def
(field_declaration declarator: (function_declarator declarator: (field_identifier) @name)) @def
(call_expression function: (field_expression field: (field_identifier) @ref))
(call_expression function: (qualified_identifier name: (identifier) @ref))
"""

QUERIES = {
    "python": _PYTHON,
    "javascript": _JAVASCRIPT,
    "typescript": _TYPESCRIPT,
    "tsx": _TYPESCRIPT,
    "go": _GO,
    "rust": _RUST,
    "java": _JAVA,
    "c": _C,
    "cpp": _CPP,
}

SIGNATURE_CHARS = 100
# What ends a signature's first line but says nothing: a block opener, an arrow, a declaration's semicolon.
_TRAILER = re.compile(r"(?:\s*(?:\{|=>|=|:|;))+\s*$")
# Joining a multi-line parameter list leaves `( self` and `x )`; close those gaps.
_BRACKET_GAP = re.compile(r"([(\[]) | (?=[)\]])")
# Definitions whose own inner definitions are local variables, not part of the file's interface.
_FUNCTIONS = frozenset({
    "function_definition", "function_declaration", "generator_function_declaration", "method_definition",
    "lexical_declaration", "variable_declaration", "field_definition", "public_field_definition",
    "method_declaration", "constructor_declaration", "function_item",
})  # fmt: skip
# A Go type_spec's text starts at the name; the keyword lives on the declaration around it.
_PREFIX = {"type_spec": "type "}


@dataclass(frozen=True)
class Definition:
    """A named definition: `line` is 1-based, `parent` the index of the enclosing definition in the file."""

    name: str
    line: int
    depth: int
    parent: int | None
    signature: str


@dataclass(frozen=True)
class FileTags:
    """The definitions of one file in source order, and how often it uses each name, sorted by name."""

    definitions: tuple[Definition, ...] = ()
    references: tuple[tuple[str, int], ...] = ()


def language_for(path: str) -> str | None:
    return LANGUAGES.get(PurePath(path).suffix.lower())


@cache
def _query(language: str):
    # Compiling a query takes milliseconds: once per language per process, not once per file. A compiled
    # query is read-only and shared; parsers and cursors hold state, so each call gets its own (~1 µs).
    from tree_sitter import Query
    from tree_sitter_language_pack import get_language

    return Query(get_language(language), QUERIES[language])


def extract(source: bytes, language: str) -> FileTags:
    """The tags of `source`, parsed as `language` (a key of QUERIES)."""
    from tree_sitter import QueryCursor
    from tree_sitter_language_pack import get_parser

    query = _query(language)
    tree = get_parser(language).parse(source)
    found: dict[tuple[int, int, str], object] = {}
    ref_nodes = []
    for _, captures in QueryCursor(query).matches(tree.root_node):
        if "def" in captures and "name" in captures:
            node, name = captures["def"][0], captures["name"][0]
            found.setdefault((node.start_byte, -node.end_byte, name.text.decode()), (node, name))
        ref_nodes.extend(captures.get("ref", ()))
    def_names = {name.start_byte for _, name in found.values()}
    counts: dict[str, int] = {}
    for node in ref_nodes:
        if node.start_byte not in def_names:
            text = node.text.decode()
            counts[text] = counts.get(text, 0) + 1
    definitions = _nest([(key[2], node) for key, (node, _) in sorted(found.items())], source)
    return FileTags(tuple(definitions), tuple(sorted(counts.items())))


def _nest(named_nodes: list, source: bytes) -> list[Definition]:
    """Definitions in source order, each with its depth and the index of its innermost enclosing one.
    Definitions inside a function are local to it, invisible to other files, and left out."""
    out: list[Definition] = []
    enclosing: list[tuple[int, int, bool]] = []  # (end byte, index, is a function) of the open definitions
    for name, node in named_nodes:
        while enclosing and enclosing[-1][0] <= node.start_byte:
            enclosing.pop()
        if enclosing and enclosing[-1][2]:
            continue
        parent = enclosing[-1][1] if enclosing else None
        out.append(Definition(name, node.start_point[0] + 1, len(enclosing), parent, _signature(node, source)))
        enclosing.append((node.end_byte, len(out) - 1, node.type in _FUNCTIONS))
    return out


def _signature(node, source: bytes) -> str:
    """The head of a definition up to its body (or its first line), on one line, without the opener."""
    body = _body(node)
    if body is not None and body.start_byte > node.start_byte:
        end = body
        while end.prev_sibling is not None and end.prev_sibling.type.endswith("comment"):
            end = end.prev_sibling  # `def f():  # why` — the comment sits before the body
        head = source[node.start_byte : end.start_byte]
    else:
        head = source[node.start_byte : node.end_byte].split(b"\n", 1)[0]
    text = _PREFIX.get(node.type, "") + " ".join(head.decode(errors="replace").split())
    text = _BRACKET_GAP.sub(r"\1", _TRAILER.sub("", text))
    return text if len(text) <= SIGNATURE_CHARS else text[: SIGNATURE_CHARS - 3] + "..."


def _body(node):
    """The node a definition's head ends at; for `const f = () => ...` that is the function's own body."""
    if node.type in ("lexical_declaration", "variable_declaration"):
        value = node.named_children[0].child_by_field_name("value")
    elif node.type in ("field_definition", "public_field_definition"):
        value = node.child_by_field_name("value")
    else:
        return node.child_by_field_name("body")
    return value.child_by_field_name("body") if value is not None else None


def definition_nodes(source: bytes, language: str) -> list:
    """The tree-sitter nodes of every definition in `source`, nested ones included, in source order: for
    callers that need a definition's whole extent (tune/ cuts training samples out of function bodies)."""
    from tree_sitter import QueryCursor
    from tree_sitter_language_pack import get_parser

    tree = get_parser(language).parse(source)
    nodes = {}
    for _, captures in QueryCursor(_query(language)).matches(tree.root_node):
        if "def" in captures:
            node = captures["def"][0]
            nodes[(node.start_byte, node.end_byte)] = node
    return [nodes[key] for key in sorted(nodes)]


def is_function(node) -> bool:
    return node.type in _FUNCTIONS
