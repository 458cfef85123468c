"""Files in sendPhoto/sendDocument (upload, file_id or URL) and media sent by users."""

from __future__ import annotations

import struct
import zlib
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from bot.sandbox.errors import ApiError, bad_request
from bot.sandbox.params import Params, UploadedFile
from bot.sandbox.records import MediaKind, StoredFile
from bot.sandbox.state import SandboxState

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
URL_PLACEHOLDER_SIZE = (512, 512)


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF, JPEG or WebP image; None if it is none of them."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return URL_PLACEHOLDER_SIZE
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 9 < len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return int(width), int(height)
        pos += 2 + length
    return None


def tiny_png(width: int = 64, height: int = 48) -> bytes:
    """A valid grey PNG, used as the content of photos users send."""

    def chunk(tag: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(tag + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def input_file(state: SandboxState, params: Params, field: str, kind: MediaKind) -> StoredFile:
    """Resolve the ``field`` parameter of a send method into a stored file."""
    upload = params.files.get(field)
    reference = None if upload is not None else (params.get_str(field) or "")
    if reference is not None and reference.startswith("attach://"):
        upload = params.files.get(reference.removeprefix("attach://"))
        if upload is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
    if upload is not None:
        return _store_upload(state, upload, kind)
    if not reference:
        raise bad_request(f"there is no {kind} in the request")
    known = state.files.get(reference)
    if known is not None:
        if known.kind != kind:
            raise bad_request("type of file mismatch")
        return known
    parts = urlsplit(reference)
    if parts.scheme in ("http", "https") and parts.hostname:
        # No fetching: a URL becomes an empty placeholder file.
        name = PurePosixPath(parts.path).name or None
        size = URL_PLACEHOLDER_SIZE if kind == "photo" else (0, 0)
        return state.new_file(kind, b"", file_name=name if kind == "document" else None, size=size)
    raise bad_request("wrong file identifier/HTTP URL specified")


def _store_upload(state: SandboxState, upload: UploadedFile, kind: MediaKind) -> StoredFile:
    if not upload.data:
        raise bad_request("file must be non-empty")
    if kind == "photo":
        if len(upload.data) > MAX_PHOTO_BYTES:
            raise bad_request("file is too big")
        size = image_size(upload.data)
        if size is None:
            raise bad_request("IMAGE_PROCESS_FAILED")
        return state.new_file("photo", upload.data, size=size)
    if len(upload.data) > MAX_DOCUMENT_BYTES:
        raise ApiError(413, "Request Entity Too Large")
    mime = upload.content_type or "application/octet-stream"
    return state.new_file(kind, upload.data, file_name=upload.filename or "file", mime_type=mime)


def user_media(state: SandboxState, kind: MediaKind) -> StoredFile:
    """A file as if a user had sent a photo, sticker, voice note or document."""
    if kind == "photo":
        png = tiny_png()
        return state.new_file("photo", png, size=(64, 48))
    if kind == "sticker":
        webp = b"RIFF" + struct.pack("<I", 30) + b"WEBPVP8 " + b"\x00" * 22
        return state.new_file("sticker", webp, size=(512, 512))
    if kind == "voice":
        return state.new_file("voice", b"OggS" + b"\x00" * 7996, mime_type="audio/ogg")
    pdf = b"%PDF-1.4\n%sandbox\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    return state.new_file("document", pdf, file_name="document.pdf", mime_type="application/pdf")
