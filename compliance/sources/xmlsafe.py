"""XML parsing with entity expansion, DTD loading and network access switched off."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lxml import etree

from compliance.sources.base import ParseError

_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)


def safe_parser() -> etree.XMLParser:
    from lxml import etree

    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=True,
    )


def parse_xml(
    content: bytes,
    file: str,
    source: str = "",
    *,
    root: str | None = None,
    namespace: str | None = None,
    what: str = "",
) -> etree._Element:
    """Parse an official XML file, refusing entity declarations (billion laughs, XXE), and, when
    `root` is given, any document whose root element is not the publisher's (`namespace` too)."""
    unsafe = ParseError(
        "declares XML entities, which no official list uses; refused as unsafe",
        source=source,
        file=file,
    )
    if _DOCTYPE.search(content) and _ENTITY_DECL.search(content):  # anywhere, not just the prolog
        raise unsafe
    from lxml import etree  # only a list update parses XML: not imported by screening

    try:
        doc = etree.fromstring(content, safe_parser())
    except etree.XMLSyntaxError as exc:
        line = exc.position[0] if exc.position else None
        raise ParseError(
            f"not well-formed XML (damaged or truncated download?): {exc.msg}",
            source=source,
            file=file,
            line=line,
        ) from None
    # Any other encoding (UTF-16...) hides declarations from the byte scan: the parsed DTD
    # does not. Unexpanded entity references would silently cut names short.
    dtd = doc.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise unsafe
    if root is not None and (
        local(doc.tag) != root
        or (namespace is not None and etree.QName(doc).namespace != namespace)
    ):
        raise ParseError(
            f"root element is <{doc.tag}>, expected <{root}>"
            + (f" in {namespace}" if namespace else "")
            + (f": not the {what}" if what else ""),
            source=source,
            file=file,
            line=doc.sourceline,
        )
    return doc


def local(tag: object) -> str:
    """The tag name without its namespace."""
    from lxml import etree

    return etree.QName(tag).localname if isinstance(tag, str) else ""
