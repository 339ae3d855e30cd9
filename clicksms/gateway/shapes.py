"""What the SOAP client learns from zeep: envelope templates and the structure of replies.

zeep builds every request of a new shape (operation, field names and types, list lengths;
Document/Literal lists aside, see :meth:`Template.stretched`) and
reads every reply of an operation until one shows its structure. From those the client keeps:

* :class:`Template`: the envelope zeep built, and where each field's value sits in it; a later
  call of the same shape posts a copy with the new values set, and one whose lists only hold
  other numbers of items a stretched copy (the tests compare such copies byte for byte with
  zeep's ``create_message``);
* :class:`ReplyShape` (Document/Literal) and :class:`EncodedReplyShape` (RPC/Encoded): the
  Body's one element and its ``<return>`` children, as the WSDL declares them; a later reply
  with exactly that structure is read straight from the tree, and anything else is zeep's.

Each is learned only where reading it back gives what zeep gave, and each can be written as
JSON and read back (:mod:`clicksms.gateway.learned` keeps them between runs), checked again as
it is read: what does not check out is not used, and zeep builds or reads that call.
"""

from __future__ import annotations

import contextlib
import copy
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from lxml.etree import XMLParser, fromstring, tostring

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"

_ENVELOPE = f"{{{SOAP_ENV}}}Envelope"
_HEADER = f"{{{SOAP_ENV}}}Header"
_BODY = f"{{{SOAP_ENV}}}Body"


def serialise(envelope: Any) -> bytes:
    """The envelope as zeep's transport posts it: UTF-8, with an XML declaration."""
    return tostring(envelope, xml_declaration=True, encoding="utf-8")


def call_shape(operation: str, fields: dict[str, Any]) -> Hashable | None:
    """The template key for a call, or None when a value is not a str, an int or a str list.

    Values of other types (None, bool, floats, zeep objects) may render differently from call
    to call, so those calls are always built by zeep.
    """
    parts = []
    for name, value in fields.items():
        kind = type(value)
        if kind is str or kind is int:
            parts.append((name, kind.__name__))
        elif kind is list and all(type(item) is str for item in value):
            parts.append((name, len(value)))
        else:
            return None
    return operation, tuple(sorted(parts))


class Template:
    """An envelope zeep built, and where each field's value sits in it.

    ``slots`` are (child index, item index or None, field name, list index or None) under the
    operation element, which is the only child of the envelope's child number ``body``: an
    item index for the items of an encoded array (RPC), None for a value that is a child.
    """

    __slots__ = ("body", "envelope", "headers", "slots")

    def __init__(self, envelope: Any, body: int, headers: dict[str, str], slots: list[Any]) -> None:
        self.envelope = envelope
        self.body = body
        self.headers = headers
        self.slots = slots

    @classmethod
    def learn(
        cls, envelope: Any, headers: dict[str, str], fields: dict[str, Any]
    ) -> Template | object:
        """A template when zeep put every value, verbatim, in a leaf element of its own.

        A leaf is a child of the operation element named after its field (a list repeats
        it, as Document/Literal does), or an item of a child holding one item per value of a
        list (an encoded array, as RPC does). Attributes are kept as they are: they depend on
        the WSDL and the shape (an array's length), which the template's key fixes. Anything
        else (deeper nesting, a value rendered differently, a field left out) makes the shape
        uncacheable, and zeep keeps building it.
        """
        body = envelope.find(f"{{{SOAP_ENV}}}Body")
        if body is None or len(body) != 1 or body[0].text:
            return NOT_CACHEABLE
        slots: list[tuple[int, int | None, str, int | None]] = []
        seen: dict[str, int] = {}
        for index, child in enumerate(body[0]):
            name = child.tag
            if not isinstance(name, str) or name not in fields or child.tail:
                return NOT_CACHEABLE
            value = fields[name]
            position = seen.get(name, 0)
            if len(child):  # an encoded array: one item per value, in order
                if type(value) is not list or position or len(child) != len(value) or child.text:
                    return NOT_CACHEABLE
                for number, item in enumerate(child):
                    if len(item) or item.tail or (item.text or "") != value[number]:
                        return NOT_CACHEABLE
                    slots.append((index, number, name, number))
                seen[name] = len(value)
                continue
            seen[name] = position + 1
            if isinstance(value, list):
                if position >= len(value):
                    return NOT_CACHEABLE
                expected, slot = value[position], (index, None, name, position)
            else:
                if position:
                    return NOT_CACHEABLE
                expected, slot = str(value), (index, None, name, None)
            if (child.text or "") != expected:
                return NOT_CACHEABLE
            slots.append(slot)
        for name, value in fields.items():
            if seen.get(name, 0) != (len(value) if isinstance(value, list) else 1):
                return NOT_CACHEABLE
        return cls(envelope, list(envelope).index(body), dict(headers), slots)

    def fill(self, fields: dict[str, Any], lock: threading.Lock) -> Any:
        """A copy of the envelope carrying ``fields``; lxml rejects what XML cannot carry.

        Setting ``.text`` is what zeep itself does for these leaves, so a NUL, a control
        character or a lone surrogate raises the same ValueError/UnicodeEncodeError as zeep.
        """
        with lock:  # lxml promises nothing about two threads copying one tree at once
            envelope = copy.deepcopy(self.envelope)
        self._set(envelope, fields)
        return envelope

    def render(self, fields: dict[str, Any], lock: threading.Lock, spare: threading.local) -> bytes:
        """The envelope carrying ``fields``, serialised as zeep's transport posts it.

        ``spare`` keeps each thread one copy, of the template it used last, filled in place
        from then on: bulk's workers neither copy a tree per request nor wait for one another
        on ``lock``, and a thread holds one tree whatever the number of shapes. Every slot is
        set on every call, so nothing of an earlier call (even one that raised) remains.
        """
        kept = getattr(spare, "copy", None)
        if kept is not None and kept[0] is self:
            envelope = kept[1]
            self._set(envelope, fields)
        else:
            envelope = self.fill(fields, lock)
            spare.copy = (self, envelope)
        return serialise(envelope)

    def _set(self, envelope: Any, fields: dict[str, Any]) -> None:
        children = list(envelope[self.body][0])
        for index, item, name, position in self.slots:
            value = fields[name] if position is None else fields[name][position]
            leaf = children[index] if item is None else children[index][item]
            leaf.text = value if type(value) is str else str(value)

    def stretched(self, key: Hashable, wanted: Hashable, lock: threading.Lock) -> Template | None:
        """This template (of shape ``key``) for ``wanted``, a call of the same fields whose
        lists hold other numbers of items; None where it cannot be made so.

        Document/Literal repeats a list's element once per item, so a list of 300 recipients
        is the list of one with the element repeated: a bulk of one text needs no zeep for it
        after any earlier send. The copy must pass :meth:`learn` as zeep's own envelopes do.
        An encoded array (RPC: its length is in an attribute) or an empty list is left to zeep.
        """
        if any(slot[1] is not None for slot in self.slots):
            return None
        have, values = dict(key[1]), _values_for(wanted, "v")  # type: ignore[index]
        envelope = self.fill(_values_for(key, None), lock)  # a copy of our own to reshape
        call = envelope[self.body][0]
        for name, count in wanted[1]:  # type: ignore[index]
            if type(count) is not int or count == have[name]:
                continue
            run = [child for child in call if child.tag == name]
            if not run or count == 0:
                return None
            first = call.index(run[0])
            if list(call[first : first + len(run)]) != run:
                return None  # not one run of elements: not the shape described above
            for extra in run[count:]:
                call.remove(extra)
            for number in range(len(run), count):
                call.insert(first + number, copy.deepcopy(run[0]))
        taken: dict[str, int] = {}
        for child in call:  # a distinct value in each leaf, for learn() to find
            value = values[child.tag]
            if isinstance(value, list):
                taken[child.tag] = position = taken.get(child.tag, 0)
                child.text = value[position]
                taken[child.tag] += 1
            else:
                child.text = str(value)
        learned = Template.learn(envelope, self.headers, values)
        return learned if type(learned) is Template else None

    def to_json(self, key: Hashable, lock: threading.Lock) -> dict[str, Any]:
        """The template with every value taken out (no text, number, session ID or password
        is ever written down), as :meth:`from_json` reads it back for the same ``key``."""
        blank = self.fill(_values_for(key, None), lock)
        return {
            "envelope": tostring(blank, encoding="unicode"),
            "body": self.body,
            "headers": dict(self.headers),
            "slots": [list(slot) for slot in self.slots],
        }

    @classmethod
    def from_json(cls, key: Hashable, data: Any) -> Template | None:
        """The template written by :meth:`to_json`, or None unless it checks out.

        It checks out when :meth:`learn`, given a copy filled with a distinct value for each
        value of ``key``'s shape, finds each one exactly where the slots say: the verdict
        zeep's own envelope got. Anything else (a damaged file, a hand edit, a DTD) is not
        used, and zeep builds the call.
        """
        try:
            envelope = fromstring(data["envelope"].encode("utf-8"), _safe_parser())
            headers = data["headers"]
            if envelope.getroottree().docinfo.doctype or not _plain_headers(headers):
                return None
            slots = [
                (int(index), None if item is None else int(item), str(name), position)
                for index, item, name, position in data["slots"]
            ]
            template = cls(envelope, int(data["body"]), dict(headers), slots)
            values = _values_for(key, "v")
            again = cls.learn(template.fill(values, threading.Lock()), headers, values)
        except Exception:  # whatever is wrong with it, zeep builds this call instead
            return None
        if type(again) is not cls or again.slots != slots or again.body != template.body:
            return None
        return template


def _values_for(key: Any, prefix: str | None) -> dict[str, Any]:
    """Values for a call of the shape ``key`` (:func:`call_shape`): all blank with no
    ``prefix``, else each distinct (``v0``, ``1001``, ``v2``, ...)."""
    values: dict[str, Any] = {}
    count = 0
    for name, kind in key[1]:
        if kind == "str":
            values[name] = "" if prefix is None else f"{prefix}{count}"
        elif kind == "int":
            values[name] = "" if prefix is None else 1000 + count
        else:
            values[name] = ["" if prefix is None else f"{prefix}{count + n}" for n in range(kind)]
            count += kind
        count += 1
    return values


def stretchable(key: Any, wanted: Any) -> bool:
    """``key``'s template may be :meth:`Template.stretched` to ``wanted``: another key of
    the same operation and fields, whose lists differ in length only."""

    def fields(parts: Any) -> list[tuple[str, str]]:
        return [(name, kind if type(kind) is str else "list") for name, kind in parts]

    return bool(key != wanted and key[0] == wanted[0] and fields(key[1]) == fields(wanted[1]))


#: The HTTP headers zeep gives its transport with a request; nothing else is read back.
_REQUEST_HEADERS = frozenset({"Content-Type", "SOAPAction"})


def _plain_headers(headers: Any) -> bool:
    return (
        isinstance(headers, dict)
        and set(headers) <= _REQUEST_HEADERS
        and all(isinstance(v, str) and v.isprintable() for v in headers.values())
    )


def _safe_parser() -> Any:
    """A parser for XML read back from a file: no entities, no network, no huge trees."""
    return XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def key_to_json(key: Hashable) -> list[Any]:
    """A template key (:func:`call_shape`) as JSON can hold it."""
    operation, parts = key  # type: ignore[misc]
    return [operation, [list(part) for part in parts]]


def key_from_json(data: Any) -> Hashable | None:
    """A key written by :func:`key_to_json`, or None unless :func:`call_shape` could have
    made it."""
    try:
        operation, raw = data
        parts = tuple((name, kind) for name, kind in raw)
    except (TypeError, ValueError):
        return None
    if not isinstance(operation, str) or len({name for name, _ in parts}) != len(parts):
        return None
    for name, kind in parts:
        counted = type(kind) is int and 0 <= kind <= MAX_LIST
        if not isinstance(name, str) or not (kind in ("str", "int") or counted):
            return None
    if list(parts) != sorted(parts):
        return None
    return operation, parts


#: The longest list a key read back may have: Clickatell takes 300 recipients a request.
MAX_LIST = 1000


NOT_CACHEABLE = object()


class Templates:
    """A thread-safe LRU of templates by shape."""

    def __init__(self, size: int) -> None:
        self.lock = threading.Lock()
        self._size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable) -> Any:
        """Without the lock: every worker asks on every request. Each OrderedDict call is
        atomic in CPython (its C implementation, under the GIL or, free-threaded, under the
        object's own lock); a key evicted in between is simply not moved."""
        item = self._items.get(key)
        if item is not None:
            with contextlib.suppress(KeyError):
                self._items.move_to_end(key)
        return item

    def like(self, key: Hashable) -> list[tuple[Hashable, Template]]:
        """The templates kept for the same call as ``key`` but for its lists' lengths, the
        most recently used first."""
        with self.lock:
            items = list(self._items.items())
        return [
            (other, item)
            for other, item in reversed(items)
            if type(item) is Template and stretchable(other, key)
        ]

    def put(self, key: Hashable, item: Any) -> None:
        with self.lock:
            self._items[key] = item
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


MISS = object()


def _only_child_of_body(doc: Any) -> Any:
    """The Body's one element when ``doc`` is a SOAP Envelope holding (after an optional empty
    Header) a Body with exactly one element; else None."""
    if doc.tag != _ENVELOPE:
        return None
    count = len(doc)
    if count == 1:
        body = doc[0]
    elif count == 2:
        header, body = doc
        if header.tag != _HEADER or len(header):
            return None
    else:
        return None
    if body.tag != _BODY or len(body) != 1:
        return None
    return body[0]


class ReplyShape:
    """The structure of an operation's replies that zeep deserialised: how to read them again.

    ``response`` is the tag of the Body's one element, ``item`` that of each of its children,
    whose texts zeep returned: a list of them when ``many`` (the WSDL's maxOccurs="unbounded"),
    else the one text. Read-only once built, so threads share it freely.
    """

    __slots__ = ("item", "many", "response")

    def __init__(self, response: str, item: str, many: bool) -> None:
        self.response = response
        self.item = item
        self.many = many

    @classmethod
    def learn(
        cls, doc: Any, result: Any, element_of: Callable[[str], Any]
    ) -> ReplyShape | object | None:
        """A shape when reading ``doc`` through it gives zeep's ``result``.

        ``element_of`` is zeep's ``Client.get_element``: the WSDL must declare the reply's
        element as the plain one this client reads (one xsd:string element, maxOccurs 1 or
        unbounded, no attributes), or the operation is never learned (``NOT_CACHEABLE``).
        None means this reply does not show the plain structure (an ``xsi:nil``, an error
        answer, ...): the next one may. A reply that does but disagrees with zeep means the
        shortcut misreads this operation, so zeep keeps every reply of it.
        """
        from zeep import exceptions as zeep_errors  # loaded: zeep just read the reply
        from zeep.xsd import String

        body = doc.find(_BODY)
        if body is None or len(body) != 1 or len(body[0]) == 0:
            return None
        response = body[0]
        if not isinstance(response.tag, str) or not isinstance(response[0].tag, str):
            return None  # a processing instruction: zeep's business
        try:
            element = element_of(response.tag)
            declared = element.type.elements
            attributes = element.type.attributes
        except (AttributeError, LookupError, ValueError, zeep_errors.Error):
            return NOT_CACHEABLE
        if len(declared) != 1 or attributes:
            return NOT_CACHEABLE
        item_element = declared[0][1]
        if type(getattr(item_element, "type", None)) is not String:
            return NOT_CACHEABLE
        if item_element.max_occurs not in (1, "unbounded"):
            return NOT_CACHEABLE
        shape = cls(response.tag, response[0].tag, item_element.max_occurs == "unbounded")
        ours = shape.read(doc)
        if ours is MISS:
            return None
        if type(ours) is not type(result) or ours != result:
            return NOT_CACHEABLE
        return shape

    def to_json(self) -> dict[str, Any]:
        return {"kind": "literal", "response": self.response, "item": self.item, "many": self.many}

    @classmethod
    def from_json(cls, data: Any) -> ReplyShape | None:
        """The shape written by :meth:`to_json`, or None if that is not what it is."""
        if not isinstance(data, dict) or data.get("kind") != "literal":
            return None
        response, item, many = data.get("response"), data.get("item"), data.get("many")
        if not (_is_tag(response) and _is_tag(item) and type(many) is bool):
            return None
        return cls(response, item, many)

    def read(self, doc: Any) -> Any:
        """What zeep returns for ``doc`` if it has exactly this structure, else ``MISS``.

        Only whitespace may sit between elements; the root must be the SOAP Envelope holding
        an optional empty Header and the Body; the Body holds the response element only; that
        element and its children carry no attributes (``xsi:nil``, ``xsi:type``, ``href``
        change what zeep returns) and the children no elements. zeep's loader has already
        removed comments and refused DTDs, so an item's ``.text`` is the whole of its value:
        None for ``<return/>`` and ``<return></return>``, as zeep gives.
        """
        response = _only_child_of_body(doc)
        if response is None:
            return MISS
        if response.tag != self.response or len(response.attrib) or _text(response.text):
            return MISS
        tag = self.item
        items = []
        for item in response:
            if item.tag != tag or len(item) or len(item.attrib) or _text(item.tail):
                return MISS
            items.append(item.text)
        if self.many:
            return items if items else MISS
        return items[0] if len(items) == 1 else MISS


class EncodedReplyShape:
    """The structure of an RPC/Encoded operation's replies that zeep deserialised.

    The Body's one element (``response``, no attributes) holds one ``<return>``: a string
    (``items`` None), or a SOAP-encoded array of strings, inline, with items all alike
    (``items``: their tag and attributes). The return's attributes are kept as learned,
    except the length in an array's ``SOAP-ENC:arrayType``, which must count its items.
    Those attribute values are QNames (``xsd:string``), so the namespaces in scope must be
    the ones learned, on the return and on every item. A multi-reference reply (``href``,
    more than one element in the Body) is never learned: zeep reads it.
    """

    __slots__ = ("array_type", "attrib", "items", "nsmap", "response", "tag")

    def __init__(
        self,
        response: str,
        tag: str,
        attrib: dict[str, str],
        array_type: str | None,
        items: tuple[str, dict[str, str]] | None,
        nsmap: dict[str | None, str],
    ) -> None:
        self.response = response
        self.tag = tag
        self.attrib = attrib  # the return's attributes but its arrayType
        self.array_type = array_type  # arrayType without the length: "xsd:string"
        self.items = items
        self.nsmap = nsmap

    @classmethod
    def learn(cls, doc: Any, result: Any) -> EncodedReplyShape | object | None:
        """A shape when reading ``doc`` through it gives zeep's ``result`` (None: this reply
        shows no shape to learn, as a multi-reference one; the next one may)."""
        body = doc.find(_BODY)
        if body is None or len(body) != 1 or len(body[0]) != 1:
            return None
        response, returned = body[0], body[0][0]
        if not isinstance(response.tag, str) or not isinstance(returned.tag, str):
            return None
        attrib = dict(returned.attrib)
        array_type = None
        items = None
        if len(returned):
            first = returned[0]
            sized = _SIZED.fullmatch(attrib.pop(_ARRAY_TYPE, ""))
            if not isinstance(first.tag, str) or sized is None:
                return None
            array_type = sized[1]
            items = (first.tag, dict(first.attrib))
        elif _ARRAY_TYPE in attrib:
            return None  # an empty array: nothing to learn the items from
        shape = cls(response.tag, returned.tag, attrib, array_type, items, dict(returned.nsmap))
        ours = shape.read(doc)
        if ours is MISS:
            return None
        if isinstance(result, list):  # zeep's ArrayOfString is a list of its own kind
            result = list(result)
        if type(ours) is not type(result) or ours != result:
            return NOT_CACHEABLE
        if isinstance(ours, list) and len(set(ours)) != len(ours):
            return None  # learn from distinct items: their order is then certain
        return shape

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "encoded",
            "response": self.response,
            "tag": self.tag,
            "attrib": self.attrib,
            "array_type": self.array_type,
            "items": None if self.items is None else list(self.items),
            "nsmap": [[prefix, uri] for prefix, uri in self.nsmap.items()],
        }

    @classmethod
    def from_json(cls, data: Any) -> EncodedReplyShape | None:
        """The shape written by :meth:`to_json`, or None if that is not what it is."""
        if not isinstance(data, dict) or data.get("kind") != "encoded":
            return None
        try:
            response, tag, attrib = data["response"], data["tag"], data["attrib"]
            array_type, items = data["array_type"], data["items"]
            nsmap = {prefix: uri for prefix, uri in data["nsmap"]}
            if items is not None:
                item_tag, item_attrib = items
                items = (item_tag, item_attrib)
        except (KeyError, TypeError, ValueError):
            return None
        if not (_is_tag(response) and _is_tag(tag) and _is_text_map(attrib)):
            return None
        if items is not None and not (_is_tag(items[0]) and _is_text_map(items[1])):
            return None
        if (array_type is None) != (items is None) or not (
            array_type is None or isinstance(array_type, str)
        ):
            return None
        if not all(
            isinstance(p, (str, type(None))) and isinstance(u, str) for p, u in nsmap.items()
        ):
            return None
        return cls(response, tag, attrib, array_type, items, nsmap)

    def read(self, doc: Any) -> Any:
        """What zeep returns for ``doc`` if it has exactly this structure, else ``MISS``."""
        response = _only_child_of_body(doc)
        if response is None:
            return MISS
        if response.tag != self.response or len(response.attrib) or len(response) != 1:
            return MISS
        returned = response[0]
        if returned.tag != self.tag or _text(response.text) or _text(returned.tail):
            return MISS
        attrib = dict(returned.attrib)
        if self.items is None:
            if len(returned) or attrib != self.attrib or returned.nsmap != self.nsmap:
                return MISS
            return returned.text
        sized = _SIZED.fullmatch(attrib.pop(_ARRAY_TYPE, ""))
        if sized is None or sized[1] != self.array_type or int(sized[2]) != len(returned):
            return MISS
        if not len(returned) or attrib != self.attrib or _text(returned.text):
            return MISS
        if returned.nsmap != self.nsmap:
            return MISS
        tag, item_attrib = self.items
        texts = []
        for item in returned:
            if item.tag != tag or len(item) or _text(item.tail) or item.attrib != item_attrib:
                return MISS
            if item_attrib and item.nsmap != self.nsmap:
                return MISS
            texts.append(item.text)
        return texts


_ARRAY_TYPE = "{http://schemas.xmlsoap.org/soap/encoding/}arrayType"
_SIZED = re.compile(r"(.+)\[([0-9]+)\]")


def _text(text: str | None) -> bool:
    """Whether ``text`` (between elements) holds more than whitespace."""
    return bool(text and not text.isspace())


def _is_tag(value: Any) -> bool:
    """An element's name as lxml gives it: ``{namespace}local`` or ``local``."""
    return isinstance(value, str) and bool(value) and value.isprintable()


def _is_text_map(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )
